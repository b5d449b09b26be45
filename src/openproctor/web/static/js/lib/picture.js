// A stored picture shown only once the browser has it: a neutral placeholder meanwhile, the
// picture when it loaded, a plain note when it cannot be loaded. Never a broken image.
import { el } from "./format.js";

// Returns the placeholder element, which replaces itself with the loaded <img> (built with
// `props`). `placeholder` are the placeholder's props (its className and dataset at least).
export function pictureWhenLoaded(url, props, placeholder) {
  const waiting = el("span", { ...placeholder, textContent: "loading picture…" });
  const image = el("img", props);
  image.addEventListener("load", () => waiting.replaceWith(image), { once: true });
  image.addEventListener("error", () => (waiting.textContent = "picture not available"), { once: true });
  image.src = url; // after the listeners: a cached picture may load at once
  return waiting;
}
