// No inline script, handler attribute or style="" anywhere (the Content-Security-Policy,
// salesops/core/security.py, refuses them): the pages say what they want with data-*
// attributes, handled here by delegated listeners, so htmx-swapped content works too.

// Every destructive action asks first: buttons/links with data-confirm ask on click, a
// form with data-confirm asks on submit (whichever button or Enter submits it).
document.addEventListener("click", function (ev) {
  const el = ev.target.closest("[data-confirm]:not(form)");
  if (el && !el.hasAttribute("hx-confirm") && !window.confirm(el.dataset.confirm)) {
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }
}, true);
document.addEventListener("submit", function (ev) {
  const form = ev.target;
  if (form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }
}, true);

document.addEventListener("click", function (ev) {
  // A button that submits its form once: disabled at the first click.
  const once = ev.target.closest("button[data-submit-once]");
  if (once && once.form && !once.disabled) {
    ev.preventDefault();
    once.disabled = true;
    once.form.submit();
    return;
  }
  // A table row's own remove button (order lines).
  const remove = ev.target.closest("[data-remove-row]");
  if (remove) {
    const row = remove.closest("tr");
    if (row) { row.remove(); }
    return;
  }
  // The member tree: a node's button shows or hides its children (htmx loads them once).
  const toggle = ev.target.closest("[data-toggle-children]");
  if (toggle) {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    const children = document.getElementById(toggle.dataset.toggleChildren);
    if (children) { children.classList.toggle("d-none", !open); }
    const icon = toggle.querySelector("i");
    if (icon) { icon.className = open ? "bi bi-dash-square" : "bi bi-plus-square"; }
    return;
  }
  // An error page's "back" link goes back in the history when there is one.
  const back = ev.target.closest("a[data-history-back]");
  if (back && window.history.length > 1) {
    ev.preventDefault();
    window.history.back();
  }
});

// A select that submits its form when changed (language, projection step).
document.addEventListener("change", function (ev) {
  const el = ev.target;
  if (el.matches("select[data-submit-on-change]") && el.form) { el.form.submit(); }
});

// Forms rendered field by field without Bootstrap classes (org/form.html) get them here.
document.querySelectorAll("form[data-so-form-controls]").forEach(function (form) {
  form.querySelectorAll("input:not([type=checkbox]), select, textarea").forEach(function (el) {
    el.classList.add(el.tagName === "SELECT" ? "form-select" : "form-control");
  });
});

// The fixed header may wrap to two lines on a phone: the page starts below its real height.
(function () {
  const header = document.getElementById("so-header");
  if (!header) { return; }
  const sync = function () {
    document.documentElement.style.setProperty("--so-header-h", header.offsetHeight + "px");
  };
  sync();
  if (window.ResizeObserver) { new ResizeObserver(sync).observe(header); }
  window.addEventListener("resize", sync);
})();

// The off-canvas menu (below 992 px) closes when one of its links is followed.
(function () {
  const sidebar = document.getElementById("so-sidebar");
  if (!sidebar || !window.bootstrap) { return; }
  sidebar.addEventListener("click", function (ev) {
    if (!ev.target.closest("a[href]")) { return; }
    const menu = window.bootstrap.Offcanvas.getInstance(sidebar);
    if (menu) { menu.hide(); }
  });
})();

window.SalesOps = window.SalesOps || {};

// A dismissible alert at the top of the page (the server's message, never a bare code).
window.SalesOps.showError = function (message) {
  const box = document.getElementById("so-alerts");
  if (!box) { window.alert(message); return; }
  const alert = document.createElement("div");
  alert.className = "alert alert-danger alert-dismissible shadow-sm";
  alert.setAttribute("role", "alert");
  alert.dataset.soClientError = "";
  const text = document.createElement("span");
  text.textContent = message;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "btn-close";
  close.dataset.bsDismiss = "alert";
  close.setAttribute("aria-label", document.documentElement.lang.startsWith("en") ? "Close" : "关闭");
  alert.append(text, close);
  box.replaceChildren(alert);
};

// The reason the server gave: the JSON body's "message" (our API), the [data-so-error]
// element of an error page or partial, or a short plain-text body.
window.SalesOps.serverMessage = function (status, contentType, body) {
  const type = contentType || "";
  if (type.includes("json")) {
    try {
      const data = JSON.parse(body);
      if (data && typeof data.message === "string" && data.message) { return data.message; }
      if (data && typeof data.detail === "string" && data.detail) { return data.detail; }
    } catch (e) { /* not JSON after all */ }
  } else if (type.includes("html")) {
    const doc = new DOMParser().parseFromString(body, "text/html");
    const el = doc.querySelector("[data-so-error]");
    if (el && el.textContent.trim()) { return el.textContent.trim(); }
  } else if (body && body.trim() && body.trim().length <= 300) {
    return body.trim();
  }
  const en = (document.documentElement.lang || "").startsWith("en");
  if (status === 403) { return en ? "You do not have permission to do this." : "您没有执行此操作的权限。"; }
  if (status === 404) { return en ? "The record does not exist or you may not see it." : "记录不存在或无权访问。"; }
  if (status >= 500) { return en ? "The server hit an error; please try again later." : "服务器出错了，请稍后重试。"; }
  return en ? "The request could not be completed." : "操作未能完成。";
};

// fetch() a JSON page; a failure rejects with the server's readable message.
window.SalesOps.fetchJSON = function (url) {
  const en = (document.documentElement.lang || "").startsWith("en");
  return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
    .catch(function () {
      throw new Error(en ? "Could not reach the server; check the network and try again."
        : "无法连接服务器，请检查网络后重试。");
    })
    .then(function (r) {
      if (r.ok) { return r.json(); }
      return r.text().then(function (body) {
        throw new Error(window.SalesOps.serverMessage(r.status, r.headers.get("Content-Type"), body));
      });
    });
};

document.body.addEventListener("htmx:responseError", function (ev) {
  const xhr = ev.detail.xhr;
  window.SalesOps.showError(window.SalesOps.serverMessage(
    xhr.status, xhr.getResponseHeader("Content-Type"), xhr.responseText));
});
document.body.addEventListener("htmx:sendError", function () {
  const en = (document.documentElement.lang || "").startsWith("en");
  window.SalesOps.showError(en ? "Could not reach the server; check the network and try again."
    : "无法连接服务器，请检查网络后重试。");
});
