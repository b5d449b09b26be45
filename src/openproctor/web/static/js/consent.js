// The welcome page: consent enables "Continue", which starts the system check.
import { sendJson } from "./http.js";

const consent = document.getElementById("consent");
const next = document.getElementById("next");
const token = location.pathname.split("/").filter(Boolean)[1];

consent.addEventListener("change", () => {
  next.disabled = !consent.checked;
});

next.addEventListener("click", async () => {
  next.disabled = true;
  try {
    const view = await sendJson("GET", `/api/v1/take/${token}`);
    if (view.session.state === "invited") {
      await sendJson("POST", `/api/v1/take/${token}/sessions/${view.session.id}/state`, {
        state: "checking",
      });
    }
    next.textContent = "Consent recorded";
  } catch (error) {
    next.disabled = false;
    next.insertAdjacentHTML("afterend", `<p class="error" role="alert"></p>`);
    next.nextElementSibling.textContent = error.message;
  }
});
