// The active list polls every 2 s (hx-trigger); skip a poll while a row's check-out panel
// is open, or the swap would close it under the guard's finger. This replaces an hx-trigger
// filter expression, which htmx evaluates as code (no eval under the CSP).
document.addEventListener("htmx:beforeRequest", (event) => {
  const live = event.detail.elt;
  if (live.id === "active-live" && live.querySelector("details[open]")) {
    event.preventDefault();
  }
});
