// Keyboard shortcuts of the work queue (no mouse needed): j / k move between rows,
// Enter opens the row's claim, / jumps to the filters, n takes the next item.
// Shortcuts are ignored while typing in a field.
(function () {
  "use strict";
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
  }
  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-row] a"));
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var links = rowLinks();
    var at = links.indexOf(document.activeElement);
    if (event.key === "j" || event.key === "k") {
      if (!links.length) return;
      var next = event.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      links[at < 0 ? 0 : next].focus();
      event.preventDefault();
    } else if (event.key === "/") {
      var first = document.querySelector("#filters select, #filters input");
      if (first) { first.focus(); event.preventDefault(); }
    } else if (event.key === "n") {
      var take = document.querySelector("button[aria-keyshortcuts='n']");
      if (take) { take.click(); event.preventDefault(); }
    }
  });
})();
