// One line of a transcript as the console draws it. Stored lines carry their seq and sit in seq
// order; the agent's lines still waiting for their ack carry their client_id below them.

export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
}

export function lineElement(message, label) {
  const item = document.createElement("li");
  item.className = `msg msg-${message.sender}`;
  if (message.template) item.classList.add("msg-template");
  if (message.internal) item.classList.add("msg-internal");
  if (message.corrects) item.classList.add("is-correction");
  const meta = document.createElement("div");
  meta.className = "msg-meta";
  const who = document.createElement("span");
  who.className = "msg-who";
  who.textContent = label;
  const time = document.createElement("time");
  time.dateTime = message.at || "";
  time.textContent = formatTime(message.at);
  meta.append(who, time);
  const text = document.createElement("div");
  text.className = "msg-text";
  text.textContent = message.text;
  item.append(meta, text);
  return item;
}

export function pendingLine(message, label, clientId) {
  const element = lineElement(message, label);
  element.classList.add("is-pending");
  element.dataset.clientId = clientId;
  const status = document.createElement("div");
  status.className = "msg-state";
  status.textContent = "发送中…";
  element.append(status);
  return element;
}

export function firstAfter(log, seq) {
  for (const child of log.children) {
    if (child.dataset.seq === undefined || Number(child.dataset.seq) > seq) return child;
  }
  return null;
}

export function pendingElement(log, clientId) {
  return [...log.querySelectorAll("[data-client-id]")]
    .find((element) => element.dataset.clientId === clientId);
}

export function markFailed(log, clientId, reason) {
  const element = pendingElement(log, clientId);
  if (!element || !element.classList.contains("is-pending")) return null;
  element.classList.replace("is-pending", "is-failed");
  element.querySelector(".msg-state").textContent = reason;
  return element;
}
