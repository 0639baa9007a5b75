/* The retrospective board (templates/events/retro/board.html).

   - While grouping, a card is dragged (vendored SortableJS) onto another card's stack to
     join its group, or to its column's list to stand alone; the drop posts the same form as
     the keyboard's "Group this card with" select, and the answer redraws the board as the
     server has it (a refused move puts the card back).
   - While a card is in the air the live poll waits.
   - A refusal (400) comes back into #retro-notice: refusals.js lets htmx swap it.
   - A live swap of the cards keeps focus on the same control of the same card.
   Everything works without this file: the forms post as they are. No eval, no inline
   script (the CSP allows neither). */
(function () {
  "use strict";

  let dragging = false;

  function postGroup(cardId, onto) {
    const root = document.querySelector(".retro-columns");
    if (!root) return;
    const form = document.querySelector('.retro-card[data-card="' + cardId + '"] .retro-group-form');
    if (!form) return;
    form.elements.onto.value = onto;
    htmx.trigger(form, "submit");
  }

  function makeSortable(list) {
    if (list.dataset.sortable === "on" || typeof Sortable === "undefined") return;
    const columns = list.closest(".retro-columns");
    if (!columns || columns.dataset.phase !== "group") return;
    list.dataset.sortable = "on";
    Sortable.create(list, {
      group: "retro-cards",
      draggable: ".retro-card",
      animation: 150,
      ghostClass: "drag-ghost",
      chosenClass: "drag-chosen",
      onStart: function () {
        dragging = true;
      },
      onEnd: function (evt) {
        dragging = false;
        if (evt.from === evt.to) return;
        const onto = evt.to.classList.contains("retro-stack") ? evt.to.dataset.root : "";
        postGroup(evt.item.dataset.card, onto);
      },
    });
  }

  function init(root) {
    root.querySelectorAll(".retro-stack, .retro-stack-list").forEach(makeSortable);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    htmx.onLoad(function (elt) {
      if (elt.querySelectorAll) init(elt);
    });
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target && event.detail.target.querySelectorAll) init(event.detail.target);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (dragging && event.detail.elt.id === "retro-poll") event.preventDefault();
  });

  let kept = null;
  document.addEventListener("htmx:oobBeforeSwap", function () {
    const active = document.activeElement;
    const card = active && active.closest ? active.closest("[data-card]") : null;
    if (!card) return;
    kept = { card: card.dataset.card, tag: active.tagName, cls: active.className };
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!kept || (document.activeElement && document.activeElement !== document.body)) return;
    const card = document.querySelector('[data-card="' + kept.card + '"]');
    const target = card && (card.querySelector(kept.tag.toLowerCase()) || card);
    if (target) target.focus();
    kept = null;
  });
})();
