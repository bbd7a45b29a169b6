// Telling the agent a chat arrived: the title bar, a short chime, and (opt-in) a desktop
// notification when the console is in the background.

const BASE_TITLE = document.title;
const NOTIFY_KEY = "kefu.console.notify";
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

function chime() {
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

export function notificationsWanted() {
  return localStorage.getItem(NOTIFY_KEY) === "on" && "Notification" in window
    && Notification.permission === "granted";
}

export async function toggleNotifications() {
  if (!("Notification" in window)) return false;
  if (notificationsWanted()) {
    localStorage.setItem(NOTIFY_KEY, "off");
    return false;
  }
  const permission = await Notification.requestPermission();
  localStorage.setItem(NOTIFY_KEY, permission === "granted" ? "on" : "off");
  return permission === "granted";
}

export function newAssignment(who) {
  chime();
  if (notificationsWanted() && document.hidden) {
    new Notification("新会话 · 客服工作台", { body: who, tag: "kefu-assigned" });
  }
}

// The title counts what waits for the agent: unread lines and chats not opened yet.
export function setTitle(count, fresh) {
  const prefix = fresh ? "【新会话】" : "";
  document.title = count ? `${prefix}(${count}) ${BASE_TITLE}` : BASE_TITLE;
}
