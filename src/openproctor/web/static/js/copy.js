// "Copy" buttons next to invite links.
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = "Copied";
    } catch {
      window.prompt("Copy this invite link:", button.dataset.copy);
    }
  });
}
