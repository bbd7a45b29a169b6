// The agent console: one socket to /ws/agent speaking contract v1 (docs/protocol.md).
//
// Every chat keeps its own transcript element; selecting a chat swaps it into the pane. On a
// reconnect the console resumes each open chat from the last seq it holds, so nothing is resent.

const TOKEN_KEY = "kefu.console.token";
const TYPING_SEND_EVERY_MS = 2500;
const TYPING_SHOW_MS = 4000;
const ERROR_SHOW_MS = 8000;
const RETRY_MAX_MS = 15000;
const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403;

const $ = (id) => document.getElementById(id);
const ui = {
  app: $("app"),
  login: $("login"),
  token: $("token"),
  me: $("me"),
  connection: $("connection"),
  meName: $("me-name"),
  meNo: $("me-no"),
  status: $("status"),
  disconnect: $("disconnect"),
  banner: $("banner"),
  chatList: $("chat-list"),
  noChats: $("no-chats"),
  paneEmpty: $("pane-empty"),
  paneChat: $("pane-chat"),
  chatTitle: $("chat-title"),
  chatSub: $("chat-sub"),
  closeChat: $("close-chat"),
  holdChat: $("hold-chat"),
  transcript: $("transcript"),
  typing: $("typing"),
  error: $("error"),
  composer: $("composer"),
  input: $("input"),
};

const state = {
  socket: null,
  ready: false,
  stopped: true,
  retries: 0,
  retryTimer: null,
  errorTimer: null,
  closeArmedTimer: null,
  typingSentAt: 0,
  agent: null,
  chats: new Map(),
  selected: null,
};

// -- chats -------------------------------------------------------------------------------------

function createChat(summary) {
  const log = document.createElement("ol");
  log.className = "log";
  return {
    id: summary.chat_id,
    customer: summary.customer,
    locale: summary.locale,
    status: "open", // open | closed | returned (back in the queue, no longer ours)
    closedBy: null,
    // The chat's clocks (docs/timing.md): the customer waits since, the grace ends at.
    waitingSince: summary.waiting_since || null,
    closesAt: summary.closes_at || null,
    late: false, // the long-wait apology went out in this wait
    lastSeq: 0,
    // Messages up to here were in the chat before this console saw it: not "unread".
    seenSeq: summary.last_seq || 0,
    unread: 0,
    preview: "",
    draft: "",
    pending: new Map(),
    typingTimer: null,
    customerTyping: false,
    log,
  };
}

function upsertChat(summary) {
  let chat = state.chats.get(summary.chat_id);
  if (!chat) {
    chat = createChat(summary);
    state.chats.set(chat.id, chat);
  }
  chat.customer = summary.customer || chat.customer;
  chat.status = "open";
  chat.closedBy = null;
  if ("waiting_since" in summary) chat.waitingSince = summary.waiting_since;
  if ("closes_at" in summary) chat.closesAt = summary.closes_at;
  return chat;
}

function customerName(customer) {
  if (!customer) return "顾客";
  if (customer.name) return customer.name;
  return customer.guest ? `访客 #${customer.id}` : `玩家 ${customer.player_id}`;
}

function openChats() {
  return [...state.chats.values()].filter((chat) => chat.status === "open");
}

// -- the socket --------------------------------------------------------------------------------

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/agent`;
}

function connect() {
  clearTimeout(state.retryTimer);
  state.stopped = false;
  state.ready = false;
  setConnection(state.retries ? "reconnecting" : "connecting");
  const socket = new WebSocket(socketUrl());
  state.socket = socket;
  socket.addEventListener("open", () => send(helloFrame()));
  socket.addEventListener("message", (event) => onFrame(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (socket === state.socket) onSocketClosed(event);
  });
}

function disconnect() {
  const socket = state.socket;
  state.socket = null;
  state.stopped = true;
  state.ready = false;
  clearTimeout(state.retryTimer);
  if (socket) socket.close(1000, "signed out");
  setConnection("offline");
}

function helloFrame() {
  const hello = { type: "hello", token: ui.token.value.trim() };
  // A reconnect keeps the status the agent chose; only a first sign-in defaults to online.
  if (state.agent) hello.status = state.agent.status;
  const resume = {};
  for (const chat of openChats()) resume[chat.id] = chat.lastSeq;
  if (Object.keys(resume).length) hello.resume = resume;
  return hello;
}

function send(frame) {
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

function onSocketClosed(event) {
  state.socket = null;
  state.ready = false;
  if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
    state.stopped = true;
    setConnection("offline");
    showBanner(`已断开,请检查 token:${event.reason || "token 无效或已停用"} (${event.code})`);
    return;
  }
  if (state.stopped) return;
  const base = Math.min(RETRY_MAX_MS, 500 * 2 ** state.retries);
  state.retries += 1;
  setConnection("reconnecting");
  state.retryTimer = setTimeout(connect, base / 2 + Math.random() * base / 2);
}

// -- incoming frames ---------------------------------------------------------------------------

const handlers = {
  ready: onReady,
  assigned: onAssigned,
  message: (frame) => onMessage(frame, true),
  ack: onAck,
  typing: onTyping,
  closed: onClosed,
  status: (frame) => setStatus(frame.status),
  error: onError,
  timing: onTiming,
  reminder: onReminder,
  unassigned: onUnassigned,
  closing: (frame) => setClosesAt(frame.chat_id, frame.closes_at),
  reopened: (frame) => setClosesAt(frame.chat_id, null),
  transferred: onTransferred,
  alert: (frame) => showBanner(`主管提醒:${frame.kind}${frame.queued ? `,${frame.queued} 位客户等待` : ""}`),
};

function onFrame(frame) {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
}

function onReady(frame) {
  state.ready = true;
  state.retries = 0;
  state.agent = frame.agent;
  hideBanner();
  ui.meName.textContent = frame.agent.name;
  ui.meNo.textContent = `工号 ${frame.agent.employee_no}`;
  setStatus(frame.agent.status);
  setConnection("ready");
  const listed = new Set(frame.chats.map((summary) => summary.chat_id));
  // Open chats missing from the list were closed or handed on while we were away.
  for (const chat of openChats()) if (!listed.has(chat.id)) chat.status = "returned";
  for (const summary of frame.chats) upsertChat(summary);
  for (const chat of openChats()) {
    for (const pending of chat.pending.values()) send(messageFrame(chat, pending));
  }
  if (state.selected === null && frame.chats.length) selectChat(frame.chats[0].chat_id);
  refresh();
}

function onAssigned(frame) {
  const isNew = !state.chats.has(frame.chat_id);
  const chat = upsertChat(frame);
  // A chat just handed to us: what the customer already wrote is waiting for an answer.
  if (isNew) chat.seenSeq = 0;
  for (const message of frame.history || []) onMessage(message, false);
  if (state.selected === null) selectChat(chat.id);
  refresh();
}

function onMessage(frame, live) {
  const chat = state.chats.get(frame.chat_id);
  if (!chat) return;
  chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
  if (frame.sender === "agent" && chat.pending.delete(frame.client_id)) {
    pendingElement(chat, frame.client_id)?.remove();
  }
  const known = chat.log.querySelector(`[data-seq="${frame.seq}"]`);
  if (known) {
    // Already shown (history overlap, or our reply placed at its ack): the server's copy wins.
    known.replaceWith(seqElement(chat, frame));
    return;
  }
  chat.preview = frame.text;
  if (frame.sender === "agent") {
    chat.waitingSince = null;
    chat.late = false;
  }
  if (frame.sender === "customer") {
    if (!chat.waitingSince) chat.waitingSince = frame.at;
    stopTyping(chat);
    if (chat.id !== state.selected && frame.seq > chat.seenSeq) chat.unread += 1;
  }
  renderMessage(chat, frame);
  if (live) refresh();
}

function onAck(frame) {
  const chat = state.chats.get(frame.chat_id);
  const pending = chat?.pending.get(frame.client_id);
  if (!pending) return;
  chat.pending.delete(frame.client_id);
  const element = pendingElement(chat, frame.client_id);
  // Our own message also comes back as a `message` frame; whichever is first shows it.
  if (chat.log.querySelector(`[data-seq="${frame.seq}"]`)) {
    element?.remove();
  } else if (element) {
    element.classList.remove("is-pending");
    element.querySelector(".msg-state").remove();
    element.dataset.seq = String(frame.seq);
    chat.log.insertBefore(element, firstAfter(chat.log, frame.seq));
  }
}

function onTyping(frame) {
  const chat = state.chats.get(frame.chat_id);
  if (!chat) return;
  chat.customerTyping = true;
  clearTimeout(chat.typingTimer);
  chat.typingTimer = setTimeout(() => stopTyping(chat), TYPING_SHOW_MS);
  refresh();
}

function stopTyping(chat) {
  clearTimeout(chat.typingTimer);
  if (!chat.customerTyping) return;
  chat.customerTyping = false;
  refresh();
}

function onClosed(frame) {
  const chat = state.chats.get(frame.chat_id);
  if (!chat) return;
  chat.status = "closed";
  chat.closedBy = frame.by;
  for (const clientId of chat.pending.keys()) markFailed(chat, clientId, "会话已结束");
  chat.pending.clear();
  stopTyping(chat);
  refresh();
}

function onTiming(frame) {
  const chat = state.chats.get(frame.chat_id);
  if (!chat) return;
  chat.waitingSince = frame.waiting_since;
  chat.late = true;
  refresh();
}

function onReminder(frame) {
  const chat = state.chats.get(frame.chat_id);
  if (!chat) return;
  showBanner(
    `${customerName(chat.customer)}(会话 #${chat.id})已保持 ${Math.round(frame.held_s)} 秒,` +
      "系统已向顾客致歉;您的下一条消息前会自动发送“很抱歉让您久等了!”",
  );
}

function onUnassigned(frame) {
  const chat = state.chats.get(frame.chat_id);
  if (!chat) return;
  chat.status = "returned";
  for (const clientId of chat.pending.keys()) markFailed(chat, clientId, "会话已转给其他客服");
  chat.pending.clear();
  const why = {
    accept_timeout: "超过时限未回复,已转给其他客服;您的状态已设为“离开”",
    offline: "您已下线,会话已退回队列",
    gone: "连接中断超时,会话已退回队列",
  };
  showBanner(`会话 #${chat.id} ${why[frame.reason] || "已退回队列"}`);
  refresh();
}

function setClosesAt(chatId, closesAt) {
  const chat = state.chats.get(chatId);
  if (!chat) return;
  chat.closesAt = closesAt;
  refresh();
}

function onTransferred(frame) {
  // Handed over (S-no-blind-transfer): the chat is no longer ours to answer.
  const chat = state.chats.get(frame.chat_id);
  if (!chat) return;
  chat.status = "returned";
  stopTyping(chat);
  refresh();
}

function onError(frame) {
  for (const chat of state.chats.values()) {
    if (frame.ref && chat.pending.has(frame.ref)) {
      // A refused message (closed chat, too long) would be refused again: stop resending it.
      chat.pending.delete(frame.ref);
      markFailed(chat, frame.ref, frame.message);
    }
  }
  showError(`${frame.code}: ${frame.message}`);
}

function setStatus(status) {
  if (state.agent) state.agent.status = status;
  ui.status.value = status;
  ui.app.dataset.agentStatus = status;
  // Going offline hands our chats back to the queue; the server sends nothing per chat for it.
  if (status === "offline") for (const chat of openChats()) chat.status = "returned";
  refresh();
}

// -- outgoing actions --------------------------------------------------------------------------

function newClientId() {
  // crypto.randomUUID needs a secure context; a LAN address over http is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `a-${Date.now().toString(36)}-${hex}`;
}

function messageFrame(chat, pending) {
  return { type: "message", chat_id: chat.id, client_id: pending.client_id, text: pending.text };
}

function sendReply(chat, text) {
  const pending = { client_id: newClientId(), text, at: new Date().toISOString() };
  chat.pending.set(pending.client_id, pending);
  renderPending(chat, pending);
  hideError();
  if (state.ready) send(messageFrame(chat, pending));
}

function sendTyping(chat) {
  const now = Date.now();
  if (!state.ready || now - state.typingSentAt < TYPING_SEND_EVERY_MS) return;
  state.typingSentAt = now;
  send({ type: "typing", chat_id: chat.id });
}

function closeSelected() {
  const chat = state.chats.get(state.selected);
  if (!chat || chat.status !== "open") return;
  // Two clicks, so a stray click does not end a customer's chat.
  if (!state.closeArmedTimer) {
    ui.closeChat.textContent = "确认结束?";
    state.closeArmedTimer = setTimeout(disarmClose, 3000);
    return;
  }
  disarmClose();
  send({ type: "close", chat_id: chat.id });
}

function holdSelected() {
  const chat = state.chats.get(state.selected);
  if (chat && chat.status === "open") send({ type: "hold", chat_id: chat.id });
}

function disarmClose() {
  clearTimeout(state.closeArmedTimer);
  state.closeArmedTimer = null;
  ui.closeChat.textContent = "结束会话";
}

function selectChat(chatId) {
  const previous = state.chats.get(state.selected);
  if (previous) previous.draft = ui.input.value;
  const chat = state.chats.get(chatId);
  if (!chat) return;
  disarmClose();
  state.selected = chatId;
  chat.unread = 0;
  ui.transcript.replaceChildren(chat.log);
  ui.input.value = chat.draft;
  hideError();
  refresh();
  scrollToEnd();
}

// -- rendering ---------------------------------------------------------------------------------

function senderLabel(chat, message) {
  if (message.internal) return "内部备注";
  if (message.sender === "customer") return customerName(chat.customer);
  if (message.sender === "agent") {
    const agent = message.agent || state.agent;
    return agent ? `${agent.name}(${agent.employee_no})` : "客服";
  }
  return message.template ? `系统 · ${message.template}` : "系统";
}

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
}

function messageElement(chat, message) {
  const item = document.createElement("li");
  item.className = `msg msg-${message.sender}`;
  if (message.template) item.classList.add("msg-template");
  if (message.internal) item.classList.add("msg-internal");
  const meta = document.createElement("div");
  meta.className = "msg-meta";
  const who = document.createElement("span");
  who.className = "msg-who";
  who.textContent = senderLabel(chat, message);
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

function seqElement(chat, message) {
  const element = messageElement(chat, message);
  element.dataset.seq = String(message.seq);
  return element;
}

function renderMessage(chat, message) {
  chat.log.insertBefore(seqElement(chat, message), firstAfter(chat.log, message.seq));
  if (chat.id === state.selected) scrollToEnd();
}

// Stored messages sit in seq order; replies still waiting for their ack stay below them.
function firstAfter(log, seq) {
  for (const child of log.children) {
    if (child.dataset.seq === undefined || Number(child.dataset.seq) > seq) return child;
  }
  return null;
}

function renderPending(chat, pending) {
  const element = messageElement(chat, { sender: "agent", text: pending.text, at: pending.at });
  element.classList.add("is-pending");
  element.dataset.clientId = pending.client_id;
  const status = document.createElement("div");
  status.className = "msg-state";
  status.textContent = "发送中…";
  element.append(status);
  chat.log.append(element);
  scrollToEnd();
}

function pendingElement(chat, clientId) {
  return [...chat.log.querySelectorAll("[data-client-id]")]
    .find((element) => element.dataset.clientId === clientId);
}

function markFailed(chat, clientId, reason) {
  const element = pendingElement(chat, clientId);
  if (!element || !element.classList.contains("is-pending")) return;
  element.classList.replace("is-pending", "is-failed");
  element.querySelector(".msg-state").textContent = `未发送:${reason}`;
}

function scrollToEnd() {
  ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

const STATUS_TAG = { closed: "已结束", returned: "已退回队列" };

function chatListItem(chat) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chat-item";
  button.dataset.chatId = String(chat.id);
  button.dataset.status = chat.status;
  if (chat.id === state.selected) button.setAttribute("aria-current", "true");
  const name = document.createElement("span");
  name.className = "chat-name";
  name.textContent = customerName(chat.customer);
  const preview = document.createElement("span");
  preview.className = "chat-preview";
  preview.textContent = chat.customerTyping ? "正在输入…" : chat.preview;
  button.append(name, preview);
  const shown = chatTag(chat);
  if (shown) button.append(tag(`chat-tag ${shown.className}`.trim(), shown.text));
  if (chat.customer?.tier) button.append(tag("chat-tier", chat.customer.tier));
  if (chat.unread) button.append(tag("badge", String(chat.unread)));
  button.addEventListener("click", () => selectChat(chat.id));
  item.append(button);
  return item;
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

function renderList() {
  const order = { open: 0, returned: 1, closed: 2 };
  const chats = [...state.chats.values()].sort((a, b) => order[a.status] - order[b.status]);
  ui.chatList.replaceChildren(...chats.map(chatListItem));
  ui.noChats.hidden = chats.length > 0;
}

function renderPane() {
  const chat = state.chats.get(state.selected);
  ui.paneEmpty.hidden = Boolean(chat);
  ui.paneChat.hidden = !chat;
  if (!chat) return;
  ui.paneChat.dataset.status = chat.status;
  ui.chatTitle.textContent = customerName(chat.customer);
  const parts = [`会话 #${chat.id}`];
  if (chat.customer?.player_id) parts.push(`玩家 ID ${chat.customer.player_id}`);
  if (chat.customer?.tier) parts.push(`等级 ${chat.customer.tier}`);
  if (chat.locale) parts.push(chat.locale);
  if (STATUS_TAG[chat.status]) parts.push(STATUS_TAG[chat.status]);
  if (chat.status === "open" && chat.waitingSince) {
    parts.push(`顾客等待自 ${formatTime(chat.waitingSince)}`);
  }
  if (chat.status === "open" && chat.closesAt) parts.push(`${formatTime(chat.closesAt)} 结束`);
  ui.chatSub.textContent = parts.join(" · ");
  const open = chat.status === "open";
  ui.input.disabled = !open;
  ui.composer.querySelector("button").disabled = !open;
  // In the closing grace the chat waits for the customer: no second close, no hold.
  ui.closeChat.hidden = !open || Boolean(chat.closesAt);
  ui.holdChat.hidden = !open || Boolean(chat.closesAt);
  ui.typing.hidden = !chat.customerTyping;
}

function refresh() {
  renderList();
  renderPane();
}

const CONNECTION_TEXT = {
  connecting: "连接中…",
  reconnecting: "正在重连…",
  ready: "已连接",
  offline: "未连接",
};

function setConnection(name) {
  ui.app.dataset.state = name;
  ui.connection.textContent = CONNECTION_TEXT[name];
  ui.login.hidden = !state.stopped;
  ui.me.hidden = state.stopped;
}

function showBanner(text) {
  ui.banner.textContent = text;
  ui.banner.hidden = false;
}

function hideBanner() {
  ui.banner.hidden = true;
}

function showError(text) {
  ui.error.textContent = text;
  ui.error.hidden = false;
  clearTimeout(state.errorTimer);
  state.errorTimer = setTimeout(hideError, ERROR_SHOW_MS);
}

function hideError() {
  clearTimeout(state.errorTimer);
  ui.error.hidden = true;
}

// -- wiring ------------------------------------------------------------------------------------

function signIn(event) {
  event.preventDefault();
  const token = ui.token.value.trim();
  if (!token) return;
  localStorage.setItem(TOKEN_KEY, token);
  hideBanner();
  state.retries = 0;
  connect();
}

function submitReply(event) {
  event.preventDefault();
  const chat = state.chats.get(state.selected);
  const text = ui.input.value.trim();
  if (!chat || chat.status !== "open" || !text) return;
  ui.input.value = "";
  chat.draft = "";
  sendReply(chat, text);
}

function onKeyDown(event) {
  // isComposing: Enter also confirms a pinyin candidate; that must not send.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
}

function onInput() {
  const chat = state.chats.get(state.selected);
  if (chat && chat.status === "open" && ui.input.value) sendTyping(chat);
}

function start() {
  ui.login.addEventListener("submit", signIn);
  ui.disconnect.addEventListener("click", disconnect);
  ui.status.addEventListener("change", () => send({ type: "status", status: ui.status.value }));
  ui.closeChat.addEventListener("click", closeSelected);
  ui.holdChat.addEventListener("click", holdSelected);
  ui.composer.addEventListener("submit", submitReply);
  ui.input.addEventListener("keydown", onKeyDown);
  ui.input.addEventListener("input", onInput);
  window.addEventListener("online", () => {
    if (!state.stopped && !state.socket) connect();
  });
  setConnection("offline");
  refresh();
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) {
    ui.token.value = token;
    connect();
  }
}

start();
