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

// Tables become stacked cards on a narrow screen (site.css): each cell is labelled by its column's
// heading, here and in every fragment htmx swaps in.
function labelCells(root) {
  (root.querySelectorAll ? root : document).querySelectorAll("table").forEach(function (table) {
    var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    if (!headings.length) return;
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.children, function (cell) {
        if (cell.tagName === "TD" && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", headings[column] || "");
        column += cell.colSpan || 1;
      });
    });
  });
}
document.addEventListener("DOMContentLoaded", function () { labelCells(document); });
document.addEventListener("htmx:afterSettle", function (event) { labelCells(event.target.closest("table") || event.target); });
