// Print buttons ([data-print]) and pages that print themselves once loaded ([data-autoprint]).
// An ES module instead of onclick="window.print()": the CSP allows no inline handler.
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
if (document.querySelector("[data-autoprint]")) {
  window.addEventListener("load", () => window.print());
}
