// Keyboard shortcuts: "?" lists them; "n" new ticket; "g" then "b"/"k"/"r" go to backlog, board,
// runs; "/" focuses the page's #search when there is one. The URLs come from data-* attributes
// of #shortcuts-modal (templates/partials/shortcuts.html); nothing fires while typing in a field.
(function () {
  "use strict";
  const modalElement = document.getElementById("shortcuts-modal");
  if (!modalElement) return;
  const targets = { b: "goBacklog", k: "goBoard", r: "goRuns" };
  let pendingG = false;
  let gTimer = null;

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]") !== null;
  }

  function go(url) {
    if (url) window.location.assign(url);
  }

  function showList() {
    // Rows for elements the page does not have (e.g. search) are hidden.
    modalElement.querySelectorAll("[data-needs]").forEach((row) => {
      row.hidden = document.querySelector(row.dataset.needs) === null;
    });
    bootstrap.Modal.getOrCreateInstance(modalElement).show();
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector(".modal.show") && event.key !== "?") return;
    const data = modalElement.dataset;
    if (pendingG) {
      pendingG = false;
      clearTimeout(gTimer);
      if (targets[event.key]) {
        event.preventDefault();
        go(data[targets[event.key]]);
      }
      return;
    }
    if (event.key === "?") {
      event.preventDefault();
      showList();
    } else if (event.key === "/") {
      const search = document.getElementById("search");
      if (search) {
        event.preventDefault();
        search.focus();
      }
    } else if (event.key === "n" && data.newTicket) {
      event.preventDefault();
      go(data.newTicket);
    } else if (event.key === "g") {
      pendingG = true;
      gTimer = setTimeout(() => (pendingG = false), 1500);
    }
  });
})();
