// The desk pages' ways to get attention: a short chime, and (opt-in) desktop notifications.
// The console rings on a new assignment, the dashboard on a new urgent alert.

let audio = null;
let chimes = 0;

// Browsers let a page make sound only after a user gesture: the sign-in click unlocks it.
export function unlockSound() {
  try {
    audio = audio || new AudioContext();
    audio.resume();
  } catch {
    audio = null;
  }
}

// Counted on <html data-chimes>, so a test (and a curious supervisor) can see it rang.
export function chime() {
  chimes += 1;
  document.documentElement.dataset.chimes = String(chimes);
  if (!audio || audio.state !== "running") return;
  const now = audio.currentTime;
  for (const [offset, pitch] of [[0, 880], [0.16, 1320]]) {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = pitch;
    gain.gain.setValueAtTime(0.12, now + offset);
    gain.gain.exponentialRampToValueAtTime(0.001, now + offset + 0.15);
    tone.connect(gain).connect(audio.destination);
    tone.start(now + offset);
    tone.stop(now + offset + 0.16);
  }
}

// Desktop notifications, opted into per page (key: where the choice is kept).
export class DesktopNotices {
  constructor(key) {
    this.key = key;
  }

  get wanted() {
    return localStorage.getItem(this.key) === "on" && "Notification" in window
      && Notification.permission === "granted";
  }

  async toggle() {
    if (!("Notification" in window)) return false;
    if (this.wanted) {
      localStorage.setItem(this.key, "off");
      return false;
    }
    const permission = await Notification.requestPermission();
    localStorage.setItem(this.key, permission === "granted" ? "on" : "off");
    return permission === "granted";
  }

  // Only while the page is in the background: in front, the page itself shows it.
  show(title, body, tag) {
    if (this.wanted && document.hidden) new Notification(title, { body, tag });
  }
}
