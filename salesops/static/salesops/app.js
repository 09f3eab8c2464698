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
  const msg = ev.detail.xhr.status === 403 ? "没有权限 / Permission denied" : "操作失败 / Request failed (" + ev.detail.xhr.status + ")";
  if (box) { box.textContent = msg; box.classList.remove("d-none"); } else { window.alert(msg); }
});
