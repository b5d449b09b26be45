// What tells a proctor a new HIGH alert arrived although they look elsewhere: a short sound
// (generated here, no audio file), a desktop notification and a count in the tab's title,
// each switched on or off by the proctor and remembered in this browser for their account.
const SETTINGS = { sound: true, notify: false, badge: true };

export class AlertSignals {
  // root: the form with one checkbox per setting (data-signal="sound" | "notify" | "badge");
  // userId keys what this proctor chose.
  constructor(root, userId) {
    this.root = root;
    this.key = `openproctor.alert-signals.${userId}`;
    this.status = root.querySelector("[role=status]");
    this.title = document.title;
    this.unhandledHigh = 0;
    this.audio = null;
    this.settings = { ...SETTINGS, ...this.remembered() };
    // On only while the browser still allows it (the proctor may have revoked it since).
    if (!("Notification" in window) || Notification.permission !== "granted") this.settings.notify = false;
    for (const box of root.querySelectorAll("[data-signal]")) {
      box.checked = this.settings[box.dataset.signal];
      box.addEventListener("change", () => this.toggle(box));
    }
    // Browsers let a page make sound only after the user did something on it.
    const unlock = () => this.context()?.resume().catch(() => {});
    addEventListener("pointerdown", unlock, { once: true });
    addEventListener("keydown", unlock, { once: true });
    this.showBadge();
  }

  remembered() {
    try {
      return JSON.parse(localStorage.getItem(this.key) ?? "{}") ?? {};
    } catch {
      return {};
    }
  }

  async toggle(box) {
    const name = box.dataset.signal;
    this.status.textContent = "";
    if (name === "notify" && box.checked) {
      // Asked here, on the proctor's click, never when the page loads.
      const allowed = "Notification" in window && (await Notification.requestPermission()) === "granted";
      if (!allowed) {
        box.checked = false;
        this.status.textContent = "Your browser does not allow notifications from this site: allow them in its site settings.";
      }
    }
    if (name === "sound" && box.checked) this.beep();
    this.settings[name] = box.checked;
    localStorage.setItem(this.key, JSON.stringify(this.settings));
    this.showBadge();
  }

  // A HIGH alert just opened: `title` and `body` say what and who.
  arrived(title, body, tag) {
    if (this.settings.sound) this.beep();
    if (this.settings.notify && "Notification" in window && Notification.permission === "granted") {
      const notification = new Notification(title, { body, tag });
      notification.addEventListener("click", () => window.focus());
    }
  }

  // How many HIGH alerts no proctor has handled yet (the title's count).
  count(unhandledHigh) {
    this.unhandledHigh = unhandledHigh;
    this.showBadge();
  }

  showBadge() {
    const shown = this.settings.badge && this.unhandledHigh > 0;
    document.title = shown ? `(${this.unhandledHigh}) ${this.title}` : this.title;
  }

  context() {
    if (!this.audio && window.AudioContext) this.audio = new AudioContext();
    return this.audio;
  }

  // Two short rising tones, quiet enough not to startle.
  beep() {
    const audio = this.context();
    if (!audio || audio.state !== "running") return;
    const start = audio.currentTime;
    for (const [offset, frequency] of [[0, 880], [0.18, 1175]]) {
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = frequency;
      volume.gain.setValueAtTime(0.0001, start + offset);
      volume.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      volume.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.15);
      tone.connect(volume).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.16);
    }
  }
}
