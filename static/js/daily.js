/* The Daily Scrum screen (templates/events/daily/screen.html).

   - The timer: the server draws when the Daily Scrum started, how long it lasts and its own
     clock; this counts down from those (corrected by the difference between the server's
     clock and this computer's), so every screen shows the same time left, and "overtime"
     past the end.
   - A team member drags a story (vendored SortableJS) into another column: the drop posts
     the same move as the card's "back" and "on" buttons (the keyboard's way), and the answer
     redraws the board as the server has it (a refused move puts the card back and says which
     rule failed). The drag itself, and the live poll waiting while a card is in the air, are
     static/js/boards.js's.
   Everything but the ticking works without this file. No eval, no inline script (CSP). */
(function () {
  "use strict";

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function clock(seconds) {
    return Math.floor(seconds / 60) + ":" + pad(seconds % 60);
  }

  function tick() {
    const timer = document.querySelector(".daily-timer[data-started]");
    if (!timer) return;
    if (timer.dataset.offset === undefined) {
      timer.dataset.offset = String(Date.parse(timer.dataset.now) - Date.now());
    }
    const now = Date.now() + Number(timer.dataset.offset);
    const end = Date.parse(timer.dataset.started) + Number(timer.dataset.seconds) * 1000;
    const left = Math.round((end - now) / 1000);
    const shown = timer.querySelector(".daily-clock");
    const words = timer.querySelector(".daily-clock-words");
    if (left >= 0) {
      shown.textContent = clock(left);
      words.textContent = "left of " + Math.round(Number(timer.dataset.seconds) / 60) + " minutes";
      timer.classList.remove("is-over");
    } else {
      shown.textContent = "+" + clock(-left);
      words.textContent = "overtime: past the " + Math.round(Number(timer.dataset.seconds) / 60) + " minutes";
      timer.classList.add("is-over");
    }
  }

  function postMove(item, state) {
    const columns = document.querySelector(".daily-columns");
    if (!columns) return;
    const url = columns.dataset.moveUrl.replace("/stories/0/", "/stories/" + item.dataset.story + "/");
    htmx.ajax("POST", url, {
      source: columns,
      target: "#daily-notice",
      swap: "innerHTML",
      values: { to_state: state, version: item.dataset.version },
    });
  }

  function makeSortable(list) {
    if (!list.closest(".daily-columns").querySelector(".drag-handle")) return;
    window.SemBoards.columns(list, {
      group: "daily-board",
      draggable: ".daily-story",
      onDrop: function (card, to) {
        postMove(card, to.dataset.state);
      },
    });
  }

  function init(root) {
    if (root.querySelectorAll) root.querySelectorAll(".daily-list").forEach(makeSortable);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    tick();
    window.setInterval(tick, 500);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target) init(event.detail.target);
    tick();
  });
})();
