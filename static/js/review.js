/* The Flow Sprint Review (templates/events/review/page.html).

   - The CSM drags a team by its handle (vendored SortableJS) to set the order the teams
     show their work; the drop posts the whole order to the same service as the ↑/↓
     buttons, and the answer redraws the list as the server has it.
   - While a team is in the air the live poll waits (static/js/boards.js), and so it does
     while someone has a team chosen in a feedback's "Turn into a backlog item" select, so
     the poll never swaps it away under them.
   Everything works without this file: the buttons are plain forms. No eval, no inline
   script (the CSP allows neither). */
(function () {
  "use strict";

  function postOrder(list) {
    const order = Array.from(list.querySelectorAll(":scope > .review-team")).map(function (li) {
      return li.dataset.team;
    });
    htmx.ajax("POST", list.dataset.orderUrl, {
      source: list,
      target: "#review-notice",
      swap: "innerHTML",
      values: { order: order.join(",") },
    });
  }

  function makeSortable(list) {
    if (list.dataset.sortable === "on" || typeof Sortable === "undefined") return;
    if (list.dataset.sortableTeams !== "on") return;
    list.dataset.sortable = "on";
    Sortable.create(list, {
      handle: ".drag-handle",
      draggable: ".review-team",
      animation: 150,
      ghostClass: "drag-ghost",
      chosenClass: "drag-chosen",
      onStart: function () {
        document.body.dataset.dragging = "on";
      },
      onEnd: function (evt) {
        document.body.dataset.dragging = "";
        if (evt.oldIndex !== evt.newIndex) postOrder(list);
      },
    });
  }

  function init(root) {
    root.querySelectorAll(".review-teams").forEach(makeSortable);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target && event.detail.target.querySelectorAll) init(event.detail.target);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.id !== "live-poll") return;
    const active = document.activeElement;
    if (active && active.tagName === "SELECT" && active.closest("#review-feedback")) {
      event.preventDefault();
    }
  });
})();
