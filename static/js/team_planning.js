/* Team Sprint Planning (templates/events/team_planning/board.html).

   - The team's PO, SM or a developer drags a story by its handle (vendored SortableJS through SemBoards.columns, static/js/boards.js)
     from the backlog into the sprint or back: the drop posts the same form as the card's
     "Plan into the sprint" / "Back to the backlog" button (the keyboard way). The answer
     brings both lists as the server has them, so a refused drop (a story failing the
     Definition of Ready, one past the capacity) puts the card back and says why.
   - While a card is dragged the live poll waits (static/js/boards.js).
   - The task form's story choice follows the planned stories when the poll brings
     someone else's plan (the form itself is never swapped: nobody's typing is lost).
   Without this file the buttons still work. No eval, no inline script (CSP). */
(function () {
  "use strict";

  function post(item, into) {
    const form = document.getElementById("tp-drop");
    if (!form) return;
    form.elements.story.value = item.dataset.story;
    form.elements.into.value = into;
    htmx.trigger(form, "submit");
  }

  function makeSortable(list) {
    if (!document.getElementById("tp-drop") || !window.SemBoards) return;
    window.SemBoards.columns(list, {
      group: "team-sprint",
      onDrop: function (card, to) {
        post(card, to.dataset.into);
      },
    });
  }

  function initLists(root) {
    root.querySelectorAll(".tp-list").forEach(makeSortable);
  }

  function syncStoryChoice() {
    const select = document.getElementById("tp-task-story");
    if (!select) return;
    const cards = document.querySelectorAll("#tp-sprint .tp-card");
    const wanted = Array.prototype.map.call(cards, function (card) {
      return [card.dataset.story, card.querySelector(".tp-title").textContent];
    });
    const shown = Array.prototype.map.call(select.options, function (o) {
      return o.value + ":" + o.text;
    });
    if (wanted.length && shown.join("|") === wanted.map(function (w) { return w.join(":"); }).join("|")) return;
    if (!wanted.length) return;
    const chosen = select.value;
    select.replaceChildren();
    wanted.forEach(function (w) {
      const option = document.createElement("option");
      option.value = w[0];
      option.text = w[1];
      option.selected = w[0] === chosen;
      select.appendChild(option);
    });
  }

  document.addEventListener("htmx:afterSettle", syncStoryChoice);

  document.addEventListener("DOMContentLoaded", function () {
    htmx.onLoad(function (elt) {
      if (elt.matches && elt.matches(".tp-list")) makeSortable(elt);
      if (elt.querySelectorAll) initLists(elt);
    });
    initLists(document);
  });
})();
