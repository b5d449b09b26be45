// The wall's tools above the tiles: search by name, email or external id (as you type), a
// stage filter, "flagged only", and the tile density, which the browser remembers.
import { el } from "../lib/format.js";
import { STAGES } from "../lib/vocabulary.js";
import { riskLevel } from "./format.js";

const DENSITY_KEY = "openproctor.wall.density";
const DENSITIES = new Set(["comfortable", "compact"]);

// Lower case without accents, so "chloe" finds "Chloé".
const folded = (text) => (text ?? "").normalize("NFD").replace(/\p{Diacritic}/gu, "").toLowerCase();

// Flagged: an open alert now, or a risk score that is no longer low.
export const flagged = (candidate) =>
  Boolean(candidate.open_violations?.length) || riskLevel(candidate.risk_score ?? 0) !== "low";

export class WallFilters {
  // `changed(shown)` gets the predicate a tile must pass to be shown, whenever it changes.
  constructor(root, wall, changed) {
    this.root = root;
    this.wall = wall;
    this.changed = changed;
    this.search = root.querySelector("[data-testid=wall-search]");
    this.stage = root.querySelector("[data-testid=wall-stage]");
    this.flagged = root.querySelector("[data-testid=wall-flagged]");
    this.stage.append(...Object.entries(STAGES).map(([value, label]) => el("option", { value, textContent: label })));
    for (const input of [this.search, this.stage, this.flagged]) {
      input.addEventListener(input === this.search ? "input" : "change", () => this.apply());
    }
    this.search.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.search.value) {
        event.preventDefault();
        this.search.value = "";
        this.apply();
      }
    });
    // "/" anywhere outside a text field goes to the search, as on many sites.
    document.addEventListener("keydown", (event) => {
      const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey && wall.dataset.view === "grid") {
        event.preventDefault();
        this.search.focus();
      }
    });
    for (const button of root.querySelectorAll("[data-density]")) {
      button.addEventListener("click", () => this.density(button.dataset.density, { remember: true }));
    }
    let remembered = null;
    try {
      remembered = localStorage.getItem(DENSITY_KEY);
    } catch {
      // storage switched off: the default density, not remembered
    }
    this.density(DENSITIES.has(remembered) ? remembered : "comfortable", { remember: false });
  }

  density(name, { remember }) {
    this.wall.dataset.density = name;
    for (const button of this.root.querySelectorAll("[data-density]")) {
      button.ariaPressed = String(button.dataset.density === name);
    }
    if (!remember) return;
    try {
      localStorage.setItem(DENSITY_KEY, name);
    } catch {
      // storage switched off: this page keeps it
    }
  }

  apply() {
    const words = folded(this.search.value.trim());
    const stage = this.stage.value;
    const onlyFlagged = this.flagged.checked;
    this.wall.dataset.filtered = words || stage || onlyFlagged ? "yes" : "no";
    this.changed((candidate) =>
      (!stage || candidate.stage === stage)
      && (!onlyFlagged || flagged(candidate))
      && (!words || [candidate.name, candidate.email, candidate.external_id].some((text) => folded(text).includes(words))));
  }
}
