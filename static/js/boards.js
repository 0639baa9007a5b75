/* What the live boards share (the roadmap, the Flow Sprint Planning 1 board):

   - While a card is being dragged (the board's own script sets body[data-dragging]), the
     live poll waits, so no swap pulls the board away under the pointer.
   - The side panel ([data-panel-params]: the query parameters that open it) closes with
     its ✕ or Escape without a reload, and the address forgets those parameters.
   - SemBoards.columns(list, options): a list whose cards are dragged by their handle into
     another list of the same group (no reordering within one), with the board's drag
     marks; options.onDrop(card, toList) posts the move. Planning 1, Team Sprint Planning
     and the Daily Scrum.
   No eval, no inline script: the CSP allows neither. */
(function () {
  "use strict";

  function dragging() {
    return document.body.dataset.dragging === "on";
  }

  function closePanel(event) {
    const panel = document.querySelector("[data-panel-params]");
    if (!panel || !panel.firstElementChild) return;
    if (event) event.preventDefault();
    panel.innerHTML = "";
    const url = new URL(window.location.href);
    panel.dataset.panelParams.split(" ").forEach(function (name) {
      url.searchParams.delete(name);
    });
    window.history.pushState({}, "", url.pathname + url.search);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (dragging() && event.detail.elt.id === "live-poll") event.preventDefault();
  });

  function columns(list, options) {
    if (list.dataset.sortable === "on" || typeof Sortable === "undefined") return;
    list.dataset.sortable = "on";
    const settings = {
      group: { name: options.group },
      handle: ".drag-handle",
      sort: false,
      animation: 150,
      ghostClass: "drag-ghost",
      chosenClass: "drag-chosen",
      onStart: function () {
        document.body.dataset.dragging = "on";
      },
      onEnd: function (evt) {
        document.body.dataset.dragging = "";
        if (evt.from === evt.to) return;
        options.onDrop(evt.item, evt.to);
      },
    };
    if (options.draggable) settings.draggable = options.draggable;
    Sortable.create(list, settings);
  }

  window.SemBoards = { columns: columns };

  document.addEventListener("click", function (event) {
    if (event.target.closest(".panel-close")) closePanel(event);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !dragging()) closePanel(null);
  });
})();
