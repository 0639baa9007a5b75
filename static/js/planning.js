/* The Flow Sprint Planning 1 board (templates/events/planning/board.html).

   - A PO, SM or developer drags a story of their own team by its handle (vendored
     SortableJS, through SemBoards.columns in static/js/boards.js) into another column
     of the same row: the drop posts ONE plan (the story, the Flow Sprint or "backlog") to the same service as the card's arrows and its
     "Plan…" panel. The answer brings the board as the server has it, so a refused move
     (a story failing the Definition of Ready, say) puts the card back where it is.
   - While a card is being dragged the live poll waits, so no swap pulls the board away
     under the pointer.
   - After a keyboard move, focus returns to the same arrow of the moved card; a live
     swap (someone else's change) gives a keyboard user's focus back the same way
     (SemBoards.keepFocus, static/js/boards.js).
   - The side panel closes with its ✕ or Escape (static/js/boards.js).
   Everything works without this file too: the buttons and links are plain forms and
   links. No eval, no inline script: the CSP allows neither. */
(function () {
  "use strict";

  function postPlan(item, sprint) {
    const form = document.getElementById("planning-drop");
    if (!form) return;
    form.elements.sprint.value = sprint;
    const url = form.dataset.urlTemplate.replace("/stories/0/", "/stories/" + item.dataset.story + "/");
    htmx.ajax("POST", url, { source: form, target: "#planning-status", swap: "innerHTML" });
  }

  function makeSortable(list) {
    // Only the rows of the viewer's own teams carry handles; any of their lists takes a drop.
    const row = list.closest(".plan-row");
    if (!row || !row.querySelector(".drag-handle")) return;
    window.SemBoards.columns(list, {
      group: "team-" + list.dataset.team,
      onDrop: function (card, to) {
        postPlan(card, to.dataset.sprint);
      },
    });
  }

  function initLists(root) {
    root.querySelectorAll(".plan-list").forEach(makeSortable);
  }


  document.addEventListener("DOMContentLoaded", function () {
    htmx.onLoad(function (elt) {
      if (elt.matches && elt.matches(".plan-list")) makeSortable(elt);
      if (elt.querySelectorAll) initLists(elt);
    });
    initLists(document);
  });

  window.SemBoards.keepFocus({
    card: "[data-story]",
    cardId: function (id) {
      return "plan-story-" + id;
    },
    title: "story-title",
    controls: ["plan-earlier", "plan-later", "plan-to", "story-title"],
    arrows: { earlier: "plan-earlier", later: "plan-later" },
    header: "X-Planning-Focus",
    status: "planning-status",
  });

})();
