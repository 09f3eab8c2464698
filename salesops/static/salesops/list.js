// List pages: select-all on the page and the batch buttons follow the row checkboxes.
// The table is swapped by htmx, so everything is delegated from the document.
(function () {
  function sync() {
    const rows = document.querySelectorAll(".list-row-select");
    const checked = document.querySelectorAll(".list-row-select:checked").length;
    const all = document.getElementById("list-select-all");
    if (all) {
      all.checked = rows.length > 0 && checked === rows.length;
      all.indeterminate = checked > 0 && checked < rows.length;
    }
    const count = document.getElementById("list-selected-count");
    if (count) { count.textContent = String(checked); }
    document.querySelectorAll("#list-batch button[name=batch]").forEach(function (b) {
      b.disabled = checked === 0;
    });
  }
  document.addEventListener("change", function (ev) {
    const t = ev.target;
    if (t.id === "list-select-all") {
      document.querySelectorAll(".list-row-select").forEach(function (c) { c.checked = t.checked; });
    }
    if (t.id === "list-select-all" || t.classList.contains("list-row-select")) { sync(); }
  });
  document.body.addEventListener("htmx:afterSwap", sync);
  document.addEventListener("DOMContentLoaded", sync);
  sync();
})();
