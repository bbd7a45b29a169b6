// One entry of the chat list: who, the last line, its state, tier, unread count, and the
// customer's waiting clock (painted every second by the console).

const STATUS_TAG = { closed: "已结束", returned: "已退回队列", transferred: "已转交" };

export function statusTag(status) {
  return STATUS_TAG[status] || null;
}

// One tag per chat: its status, else the closing grace, else an apology already sent.
function chatTag(chat) {
  if (STATUS_TAG[chat.status]) return { text: STATUS_TAG[chat.status], className: "" };
  if (chat.closesAt) return { text: "待结束", className: "chat-closing" };
  if (chat.late) return { text: "久等", className: "chat-late" };
  return null;
}

function tag(className, text) {
  const element = document.createElement("span");
  element.className = className;
  element.textContent = text;
  return element;
}

export function listItem(chat, { current, name, onSelect, paintClock }) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chat-item";
  button.dataset.chatId = String(chat.id);
  button.dataset.status = chat.status;
  if (current) button.setAttribute("aria-current", "true");
  const who = document.createElement("span");
  who.className = "chat-name";
  who.textContent = name;
  const preview = document.createElement("span");
  preview.className = "chat-preview";
  preview.textContent = chat.customerTyping ? "正在输入…" : chat.preview;
  button.append(who, preview);
  const shown = chatTag(chat);
  if (shown) button.append(tag(`chat-tag ${shown.className}`.trim(), shown.text));
  if (chat.customer?.tier) button.append(tag("chat-tier", chat.customer.tier));
  if (chat.unread) button.append(tag("badge", String(chat.unread)));
  if (chat.fresh) button.dataset.fresh = "true";
  if (chat.status === "open" && chat.waitingSince) {
    const clock = tag("chat-wait", "");
    clock.dataset.chatId = String(chat.id);
    button.append(clock);
    paintClock(clock, chat);
  }
  button.addEventListener("click", onSelect);
  item.append(button);
  return item;
}
