/* The Scrum of Scrums screen (templates/events/sos/screen.html).

   Each team card's read-only region (#sos-team-<team>) is swapped by the live poll when
   someone saves. For the people who answer for that team it carries the saved text
   (hidden, [data-answer]) and version; this script copies it into the team's form:
   - a field the person changed since it was last filled, or is in, or that came back
     with their unsaved text after a refusal or conflict, keeps their text;
   - the form's read_version moves on only when every field now shows the saved text,
     so a save over someone else's newer answer comes back as a conflict showing both;
   - a note by the save button says when someone else saved meanwhile.
   Without this file the page still works: the forms post and conflicts come back whole.
   No eval, no inline script: the CSP allows neither. */
(function () {
  "use strict";

  // Changed since it was filled, or text the server gave back after a refusal or a
  // conflict (the person's own, not yet saved).
  function dirty(field) {
    return field.value !== field.defaultValue || field.dataset.kept === "1";
  }

  function sync(region) {
    const saved = region.querySelector(".sos-saved");
    if (!saved) return;
    const form = document.getElementById("sos-form-" + saved.dataset.team);
    if (!form) return;
    const version = form.elements.read_version;
    if (!version || version.value === saved.dataset.version) return;
    let kept = 0;
    saved.querySelectorAll("[data-answer]").forEach(function (answer) {
      const field = form.querySelector('textarea[data-answer="' + answer.dataset.answer + '"]');
      if (!field) return;
      const text = answer.textContent;
      if (field.value === text) {
        field.defaultValue = text;
        field.value = text;
        return;
      }
      if (dirty(field) || document.activeElement === field) {
        kept += 1;
        return;
      }
      field.defaultValue = text;
      field.value = text;
    });
    const hint = form.querySelector(".sos-form-hint");
    if (kept === 0) {
      version.value = saved.dataset.version;
      if (hint) hint.textContent = "";
    } else if (hint) {
      hint.textContent =
        "Someone saved new answers while you were writing; your text is kept. " +
        "Saving shows both versions.";
    }
  }

  // A card arrives as a whole element (it replaces its namesake): look it up by its id.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const target = event.detail.target;
    if (!target || !target.id || target.id.indexOf("sos-team-") !== 0) return;
    const card = document.getElementById(target.id);
    if (card) sync(card);
  });
})();
