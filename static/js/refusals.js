/* Live screens (event, roadmap): a refused action (400) or a conflicting save (409) comes back as the
   region the person acted in, with the reason and their text intact; htmx swaps no 4xx
   unless told to. Nothing else here: the live updates are plain htmx polling. */
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if ((status === 400 || status === 409) && event.detail.requestConfig.verb === "post") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
