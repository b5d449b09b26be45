// The LTI hand-back page: posts the signed LtiStartAssessment to the course site at once
// (the button stays for a browser that stopped it).
const form = document.querySelector("form[data-autosubmit]");
if (form) form.submit();
