// Every destructive action asks first: buttons/links with data-confirm.
document.addEventListener("click", function (ev) {
  const el = ev.target.closest("[data-confirm]");
  if (el && !el.hasAttribute("hx-confirm") && !window.confirm(el.dataset.confirm)) {
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }
}, true);
document.body.addEventListener("htmx:responseError", function (ev) {
  const box = document.getElementById("so-error");
  const en = (document.documentElement.lang || "").startsWith("en");
  const status = ev.detail.xhr.status;
  const msg = status === 403
    ? (en ? "Permission denied" : "没有权限")
    : (en ? "Request failed (" : "操作失败（") + status + (en ? ")" : "）");
  if (box) { box.textContent = msg; box.classList.remove("d-none"); } else { window.alert(msg); }
});
