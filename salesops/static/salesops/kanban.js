// The opportunity kanban (crm/kanban.html): drag a card onto a column, or pick its stage
// in the card's select, to move it. The server moves it (the same service as everywhere,
// so the same rules) and answers the whole board, sums included, which replaces this one.
(function () {
  "use strict";
  const token = function () {
    const meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  };

  function move(url, stage) {
    const board = document.getElementById("kanban");
    const body = new FormData();
    body.append("stage", stage);
    body.append("group", board.dataset.group || "");
    body.append("scene", board.dataset.scene || "");
    board.classList.add("opacity-50");
    fetch(url, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": token() },
      credentials: "same-origin",
    })
      .then(function (resp) { return resp.text(); })
      .then(function (html) {
        const wrap = document.createElement("div");
        wrap.innerHTML = html;
        const fresh = wrap.querySelector("#kanban");
        if (fresh) {
          board.replaceWith(fresh);
        } else {
          board.classList.remove("opacity-50");
        }
      })
      .catch(function () { board.classList.remove("opacity-50"); });
  }

  document.addEventListener("change", function (ev) {
    const el = ev.target;
    if (el.matches("select[data-autosubmit]")) {
      el.form.submit();
    } else if (el.matches("select.so-kanban-move")) {
      const card = el.closest(".so-kanban-card");
      move(card.dataset.url, el.value);
    }
  });

  let dragged = null;
  document.addEventListener("dragstart", function (ev) {
    const card = ev.target.closest && ev.target.closest(".so-kanban-card");
    if (!card) return;
    dragged = card;
    ev.dataTransfer.effectAllowed = "move";
    ev.dataTransfer.setData("text/plain", card.dataset.id);
    card.classList.add("opacity-50");
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("opacity-50");
    document.querySelectorAll(".so-kanban-col.so-drop").forEach(function (c) {
      c.classList.remove("so-drop");
    });
  });
  document.addEventListener("dragover", function (ev) {
    const col = ev.target.closest && ev.target.closest(".so-kanban-col");
    if (!col || !dragged) return;
    ev.preventDefault();
    col.classList.add("so-drop");
  });
  document.addEventListener("dragleave", function (ev) {
    const col = ev.target.closest && ev.target.closest(".so-kanban-col");
    if (col && !col.contains(ev.relatedTarget)) col.classList.remove("so-drop");
  });
  document.addEventListener("drop", function (ev) {
    const col = ev.target.closest && ev.target.closest(".so-kanban-col");
    if (!col || !dragged) return;
    ev.preventDefault();
    const card = dragged;
    dragged = null;
    if (card.closest(".so-kanban-col") === col) return;
    move(card.dataset.url, col.dataset.stage);
  });
})();
