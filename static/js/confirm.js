// Forms that ask before they submit: <form data-confirm="Question?">. A module instead of
// onsubmit="return confirm(...)": the CSP allows no inline handler.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
