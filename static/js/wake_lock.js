// Keep the screen on while the badge is shown (Screen Wake Lock, where the browser has it);
// the lock is dropped when the page is hidden, so take it again when it comes back.
function take() {
  if (document.visibilityState !== "visible") return;
  navigator.wakeLock.request("screen").catch(() => {});  // refused (battery saver): no matter
}
if ("wakeLock" in navigator) {
  document.addEventListener("visibilitychange", take);
  take();
}
