// The reviewer's candidate list: j/k move through the attempts, Enter (or o) opens one.
const rows = [...document.querySelectorAll("[data-testid=review-row][data-session-id]")];
let current = -1;

function focusRow(index) {
  if (!rows.length) return;
  current = Math.min(Math.max(index, 0), rows.length - 1);
  rows.forEach((row, i) => row.classList.toggle("selected", i === current));
  rows[current].focus({ preventScroll: true });
  rows[current].scrollIntoView({ block: "nearest" });
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest("input, textarea, select")) return;
  if (event.key === "j") focusRow(current + 1);
  else if (event.key === "k") focusRow(current - 1);
  else if ((event.key === "Enter" || event.key === "o") && current >= 0 && event.target.tagName !== "A") {
    location.href = `/review/sessions/${rows[current].dataset.sessionId}`;
  } else return;
  event.preventDefault();
});

for (const [index, row] of rows.entries()) {
  row.addEventListener("click", (event) => {
    if (event.target.closest("a")) return;
    focusRow(index);
  });
}
