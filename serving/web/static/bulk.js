// Bulk selection on the work queue page: "Select all on this page" ticks every row's box,
// the bulk bar counts what is selected, and after a bulk post the address bar shows the
// view again (so a reload does not post twice). Enter in a field marked
// data-enter-submits="ID" submits with button ID: the browser would use the form's first
// button, so Enter in the write-off reason would Assign. Delegated, so it survives htmx
// swaps.
(function () {
  "use strict";
  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("input[data-select-row]"));
  }
  function update() {
    var all = boxes();
    var chosen = all.filter(function (box) { return box.checked; }).length;
    var count = document.querySelector("[data-selected-count]");
    if (count) count.textContent = chosen + " selected";
    var master = document.querySelector("input[data-select-all]");
    if (master) {
      master.checked = all.length > 0 && chosen === all.length;
      master.indeterminate = chosen > 0 && chosen < all.length;
    }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input[data-select-all]")) {
      boxes().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches && target.matches("input[data-select-all], input[data-select-row]")) update();
  });
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || event.isComposing) return;
    if (!(field.matches && field.matches("input[data-enter-submits]"))) return;
    event.preventDefault();
    var button = document.getElementById(field.getAttribute("data-enter-submits"));
    if (button && field.form && !button.disabled) field.form.requestSubmit(button);
  });
  document.addEventListener("htmx:afterSwap", update);
  document.addEventListener("DOMContentLoaded", function () {
    var shown = document.querySelector("[data-view-url]");
    if (shown && window.location.pathname !== "/queue") {
      window.history.replaceState(null, "", shown.getAttribute("data-view-url"));
    }
    update();
  });
})();
