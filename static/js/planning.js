/* The Flow Sprint Planning 1 board (templates/events/planning/board.html).

   - A PO, SM or developer drags a story of their own team by its handle (vendored
     SortableJS, through SemBoards.columns in static/js/boards.js) into another column
     of the same row: the drop posts ONE plan (the story, the Flow Sprint or "backlog") to the same service as the card's arrows and its
     "Plan…" panel. The answer brings the board as the server has it, so a refused move
     (a story failing the Definition of Ready, say) puts the card back where it is.
   - While a card is being dragged the live poll waits, so no swap pulls the board away
     under the pointer.
   - After a keyboard move, focus returns to the same arrow of the moved card; a live
     swap (someone else's change) gives a keyboard user's focus back the same way.
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

  function focusCard(storyId, control) {
    const card = document.getElementById("plan-story-" + storyId);
    if (!card) return false;
    const wanted = control ? card.querySelector("." + control + ":not([disabled])") : null;
    const target = wanted || card.querySelector(".story-title");
    if (target) target.focus();
    return Boolean(target);
  }

  // Where the focus goes back after a swap: after a plan by the card's arrows, the same
  // arrow of the moved card (or its title after a drop, or when that arrow is now
  // disabled); after a live swap of the board, the control a keyboard user was on. Given
  // at the settle, once htmx has wired the new cards (a key pressed before that would post
  // the form without htmx), and only if the swap took the focus away: someone who has
  // moved on in the meantime keeps their place.
  let kept = null;
  const KEPT = ["plan-earlier", "plan-later", "plan-to", "story-title"];
  document.addEventListener("htmx:beforeSwap", function () {
    kept = null;
  });
  document.addEventListener("htmx:oobBeforeSwap", function () {
    const active = document.activeElement;
    const card = active && active.closest ? active.closest("[data-story]") : null;
    if (!card) return;
    const cls = KEPT.find(function (c) {
      return active.classList.contains(c);
    });
    kept = cls ? { story: card.dataset.story, cls: cls } : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    const lost = !document.activeElement || document.activeElement === document.body;
    const xhr = event.detail.xhr;
    const focus = xhr && xhr.getResponseHeader("X-Planning-Focus");
    if (lost && focus && event.detail.target.id === "planning-status") {
      const parts = focus.split(":");
      const control =
        parts[1] === "earlier" ? "plan-earlier" : parts[1] === "later" ? "plan-later" : "";
      focusCard(parts[0], control);
    } else if (lost && kept) {
      focusCard(kept.story, kept.cls);
    }
    kept = null;
  });

})();
