/* The roadmap (templates/events/roadmap.html).

   - The CPO drags an epic by its handle (vendored SortableJS) within a lane or into
     another milestone's lane; the drop posts ONE move (the epic, the neighbour it landed
     next to, its lane, the version it had) to the same service as the arrow buttons.
     The answer brings the lanes as the server has them, so a refused or conflicting
     move puts the card back where it really is.
   - While a card is being dragged the live poll waits, so no swap pulls the lanes away
     under the pointer.
   - After a keyboard move, focus returns to the same button on the moved card; a live
     swap (someone else's change) gives a keyboard user's focus back the same way
     (SemBoards.keepFocus, static/js/boards.js).
   - The side panel closes with its ✕ or Escape (static/js/boards.js).
   Everything works without this file too: the buttons and links are plain forms and
   links. No eval, no inline script: the CSP allows neither. */
(function () {
  "use strict";

  function dropForm() {
    return document.getElementById("roadmap-drop");
  }

  function postMove(item, lane) {
    const form = dropForm();
    if (!form) return;
    const prev = item.previousElementSibling;
    const next = item.nextElementSibling;
    form.elements.version.value = item.dataset.version;
    form.elements.after.value = prev ? prev.dataset.epic : "";
    form.elements.before.value = !prev && next ? next.dataset.epic : "";
    form.elements.lane.value = lane;
    const url = form.dataset.urlTemplate.replace("/0/", "/" + item.dataset.epic + "/");
    htmx.ajax("POST", url + window.location.search, {
      source: form,
      target: "#roadmap-status",
      swap: "innerHTML",
    });
  }

  function makeSortable(list) {
    if (list.dataset.sortable === "on" || typeof Sortable === "undefined") return;
    const lanes = list.closest(".lanes");
    if (!lanes || lanes.dataset.editable !== "true") return;
    const closed = list.closest(".lane.is-closed") !== null;
    list.dataset.sortable = "on";
    Sortable.create(list, {
      group: { name: "epics", put: !closed },
      handle: ".drag-handle",
      animation: 150,
      ghostClass: "drag-ghost",
      chosenClass: "drag-chosen",
      onStart: function () {
        document.body.dataset.dragging = "on";
      },
      onEnd: function (evt) {
        document.body.dataset.dragging = "";
        const sameLane = evt.from === evt.to;
        if (sameLane && evt.oldIndex === evt.newIndex) return;
        postMove(evt.item, sameLane ? "" : evt.to.dataset.lane);
      },
    });
  }

  function initLanes(root) {
    root.querySelectorAll(".lane-epics").forEach(makeSortable);
  }


  // "Find an epic": hides the cards whose title and teams do not hold the text. It sits
  // outside the live regions, so what is typed stays, and applies again after each swap.
  function applyFind() {
    const input = document.getElementById("roadmap-find");
    if (!input) return;
    const needle = input.value.trim().toLowerCase();
    let shown = 0;
    let total = 0;
    document.querySelectorAll("#roadmap-lanes [data-epic]").forEach(function (card) {
      total += 1;
      const words = Array.from(card.querySelectorAll(".epic-title, .epic-teams"))
        .map(function (el) {
          return el.textContent;
        })
        .join(" ")
        .toLowerCase();
      const hit = !needle || words.indexOf(needle) !== -1;
      card.hidden = !hit;
      if (hit) shown += 1;
    });
    const count = document.getElementById("roadmap-find-count");
    if (count) count.textContent = needle ? shown + " of " + total + " epics" : "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    htmx.onLoad(function (elt) {
      if (elt.matches && elt.matches(".lane-epics")) makeSortable(elt);
      if (elt.querySelectorAll) initLanes(elt);
    });
    initLanes(document);
    const find = document.getElementById("roadmap-find");
    if (find) find.addEventListener("input", applyFind);
  });
  document.addEventListener("htmx:oobAfterSwap", applyFind);

  window.SemBoards.keepFocus({
    card: "[data-epic]",
    cardId: function (id) {
      return "road-epic-" + id;
    },
    title: "epic-title",
    controls: ["move-up", "move-down", "move-to", "epic-title", "move-to-lane"],
    arrows: { up: "move-up", down: "move-down" },
    header: "X-Roadmap-Focus",
  });

})();
