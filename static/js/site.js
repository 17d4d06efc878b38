// Small behaviours the strict CSP allows (no inline script, no eval).
// [data-remove="selector"]: remove the closest matching ancestor (e.g. a person row).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-remove]");
  if (button) {
    event.preventDefault();
    var target = button.closest(button.getAttribute("data-remove"));
    if (target) target.remove();
  }
});

// [data-print]: open the browser's print dialog (the counter's e-policy).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    event.preventDefault();
    window.print();
  }
});
