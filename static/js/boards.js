/* What the live boards share (the roadmap, the Flow Sprint Planning 1 board):

   - While a card is being dragged (the board's own script sets body[data-dragging]), the
     live poll waits, so no swap pulls the board away under the pointer.
   - The side panel ([data-panel-params]: the query parameters that open it) closes with
     its ✕ or Escape without a reload, and the address forgets those parameters.
   - SemBoards.columns(list, options): a list whose cards are dragged by their handle into
     another list of the same group (no reordering within one), with the board's drag
     marks; options.onDrop(card, toList) posts the move. Planning 1, Team Sprint Planning
     and the Daily Scrum.
   - SemBoards.keepFocus(options): where a keyboard user's focus goes back after a swap
     of the board. The roadmap and Flow Sprint Planning 1.
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

  // After a move by a card's arrows, the same arrow of the moved card (its title after a
  // drop, or when that arrow is now disabled): the answer's options.header names
  // "<id>:<direction>". After a live swap (someone else's change), the control a keyboard
  // user was on. Given at the settle, once htmx has wired the new cards (a key pressed
  // before that would post the form without htmx), and only if the swap took the focus
  // away: someone who has moved on in the meantime keeps their place.
  //   options.card: a card's selector; options.cardId(id): a card's element id;
  //   options.title: the class of a card's title; options.controls: the classes of the
  //   controls kept over a live swap; options.arrows: direction -> arrow class;
  //   options.header: the answer's header; options.status (optional): the id of the
  //   element a move's answer must be swapped into for the header to count.
  function keepFocus(options) {
    let kept = null;

    function control(cardElementId, cls, value) {
      const card = document.getElementById(cardElementId);
      if (!card) return null;
      const named = value ? '[value="' + CSS.escape(value) + '"]' : "";
      const wanted = cls ? card.querySelector("." + cls + named + ":not([disabled])") : null;
      return wanted || card.querySelector("." + options.title);
    }

    document.addEventListener("htmx:beforeSwap", function () {
      kept = null;
    });
    document.addEventListener("htmx:oobBeforeSwap", function () {
      const active = document.activeElement;
      const card = active && active.closest ? active.closest(options.card) : null;
      if (!card) return;
      const cls = options.controls.find(function (c) {
        return active.classList.contains(c);
      });
      kept = cls ? { card: card.id, cls: cls, value: active.value || "" } : null;
    });
    document.addEventListener("htmx:afterSettle", function (event) {
      const lost = !document.activeElement || document.activeElement === document.body;
      const xhr = event.detail.xhr;
      const moved = xhr && xhr.getResponseHeader(options.header);
      const counts = !options.status || event.detail.target.id === options.status;
      let target = null;
      if (lost && moved && counts) {
        const parts = moved.split(":");
        target = control(options.cardId(parts[0]), options.arrows[parts[1]] || "", "");
      } else if (lost && kept) {
        target = control(kept.card, kept.cls, kept.value);
      }
      kept = null;
      if (target) target.focus();
    });
  }

  window.SemBoards = { columns: columns, keepFocus: keepFocus };

  document.addEventListener("click", function (event) {
    if (event.target.closest(".panel-close")) closePanel(event);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !dragging()) closePanel(null);
  });
})();
