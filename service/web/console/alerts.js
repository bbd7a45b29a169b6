// Telling the agent a chat arrived: the title bar, a short chime, and (opt-in) a desktop
// notification when the console is in the background (common/notify.js).

import { DesktopNotices, chime, unlockSound } from "/common/notify.js";

const BASE_TITLE = document.title;
const notices = new DesktopNotices("kefu.console.notify");

export { unlockSound };

export function notificationsWanted() {
  return notices.wanted;
}

export function toggleNotifications() {
  return notices.toggle();
}

export function newAssignment(who) {
  chime();
  notices.show("新会话 · 客服工作台", who, "kefu-assigned");
}

// The title counts what waits for the agent: unread lines and chats not opened yet.
export function setTitle(count, fresh) {
  const prefix = fresh ? "【新会话】" : "";
  document.title = count ? `${prefix}(${count}) ${BASE_TITLE}` : BASE_TITLE;
}
