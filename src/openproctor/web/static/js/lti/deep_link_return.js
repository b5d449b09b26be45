// The deep linking answer goes back to the course by itself; the button stays for browsers
// that run no scripts (and is what the page says to press if this does not happen).
const form = document.querySelector("form[data-auto-submit]");
if (form) form.requestSubmit();
