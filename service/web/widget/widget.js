// The customer chat widget: one socket to /ws/customer speaking contract v1 (docs/protocol.md).
//
// The chat (resume token, transcript, unsent messages) is kept in localStorage, so a reload shows
// the transcript at once and resumes with `last_seq`: the server then sends only what was missed.

const STORAGE_KEY = "kefu.widget.chat";
const MAX_STORED_MESSAGES = 300;
const TYPING_SEND_EVERY_MS = 2500;
const TYPING_SHOW_MS = 4000;
const NOTICE_SHOW_MS = 6000;
const RETRY_MAX_MS = 15000;
// 4401: no valid hello; 4403: identity or resume token refused. Retrying cannot help.
const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403;

const $ = (id) => document.getElementById(id);
const ui = {
  chat: $("chat"),
  connection: $("connection"),
  endChat: $("end-chat"),
  banner: $("banner"),
  log: $("log"),
  typing: $("typing"),
  notice: $("notice"),
  ended: $("ended"),
  rating: $("rating"),
  ratingPrompt: $("rating-prompt"),
  scores: $("scores"),
  newChat: $("new-chat"),
  composer: $("composer"),
  input: $("input"),
};

const state = {
  socket: null,
  ready: false,
  retries: 0,
  retryTimer: null,
  typingSentAt: 0,
  typingTimer: null,
  noticeTimer: null,
  endArmedTimer: null,
  chat: loadChat(),
};

// -- the stored chat ---------------------------------------------------------------------------

function emptyChat() {
  // lastSeq counts only message frames received, never seqs learned from an ack: an ack can
  // overtake an earlier message still on its way, and resuming past it would lose that message.
  return { chatId: null, token: null, lastSeq: 0, agent: null, closedBy: null, rated: null,
           messages: new Map(), pending: new Map() };
}

function loadChat() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY));
    if (!saved || !saved.token) return emptyChat();
    return {
      ...emptyChat(),
      chatId: saved.chatId,
      token: saved.token,
      lastSeq: saved.lastSeq || 0,
      agent: saved.agent || null,
      rated: saved.rated ?? null,
      messages: new Map((saved.messages || []).map((m) => [m.seq, m])),
      pending: new Map((saved.pending || []).map((p) => [p.client_id, p])),
    };
  } catch {
    return emptyChat();
  }
}

function saveChat() {
  const chat = state.chat;
  if (!chat.token) return;
  const messages = [...chat.messages.values()].sort((a, b) => a.seq - b.seq);
  localStorage.setItem(STORAGE_KEY, JSON.stringify({
    chatId: chat.chatId,
    token: chat.token,
    lastSeq: chat.lastSeq,
    agent: chat.agent,
    rated: chat.rated,
    messages: messages.slice(-MAX_STORED_MESSAGES),
    pending: [...chat.pending.values()],
  }));
}

function forgetChat() {
  localStorage.removeItem(STORAGE_KEY);
  state.chat = emptyChat();
}

// -- the socket --------------------------------------------------------------------------------

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/customer`;
}

function connect() {
  clearTimeout(state.retryTimer);
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
  state.ready = false;
  clearTimeout(state.retryTimer);
  if (socket) socket.close(1000, "new chat");
}

function helloFrame() {
  const hello = { type: "hello", locale: (navigator.language || "zh-CN").slice(0, 16) };
  if (state.chat.token) {
    hello.resume = { token: state.chat.token, last_seq: state.chat.lastSeq };
  }
  return hello;
}

function send(frame) {
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(frame));
  return true;
}

function onSocketClosed(event) {
  state.ready = false;
  state.socket = null;
  hideTyping();
  if (event.code === CLOSE_FORBIDDEN && state.chat.token) {
    forgetChat();
    showEnded("之前的会话已失效,请开始新的咨询。", "Previous chat expired");
    setConnection("offline");
    return;
  }
  if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
    setConnection("offline");
    showNotice(`连接被拒绝 (${event.code}) ${event.reason || ""}`);
    return;
  }
  if (state.chat.closedBy) {
    setConnection("offline");
    return;
  }
  scheduleReconnect();
}

function scheduleReconnect() {
  const base = Math.min(RETRY_MAX_MS, 500 * 2 ** state.retries);
  const delay = base / 2 + Math.random() * base / 2;
  state.retries += 1;
  setConnection("reconnecting");
  state.retryTimer = setTimeout(connect, delay);
}

// -- incoming frames ---------------------------------------------------------------------------

const handlers = {
  ready: onReady,
  message: onMessage,
  ack: onAck,
  queue: (frame) => showQueue(frame.position),
  assigned: (frame) => showAgent(frame.agent),
  typing: showTyping,
  // The agent closed: the customer may still answer until the chat closes (S-customer-ends).
  closing: () => setBanner("如还有其他问题请直接回复,否则本次对话即将结束", "closing"),
  reopened: () => {
    if (state.chat.agent) setAgent(state.chat.agent);
  },
  closed: onClosed,
  rated: onRated,
  error: onError,
};

function onFrame(frame) {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
}

function onReady(frame) {
  if (state.chat.chatId !== null && state.chat.chatId !== frame.chat_id) {
    state.chat = emptyChat();
    ui.log.replaceChildren();
  }
  state.chat.chatId = frame.chat_id;
  state.chat.token = frame.resume_token;
  state.ready = true;
  state.retries = 0;
  ui.chat.dataset.chatId = String(frame.chat_id);
  setConnection("ready");
  // `queue` and `assigned` are never replayed: ready says where the chat stands now.
  // A chat joins the line at its first message (KEFU_ROUTE_ON=message): invite the question.
  if (frame.status === "queued" && frame.in_line === false) showInvite(frame.position);
  else if (frame.status === "queued" && frame.position) showQueue(frame.position);
  if (frame.status === "assigned" && frame.agent) showAgent(frame.agent);
  saveChat();
  // The server is idempotent on client_id: a message stored before the drop is only acked again.
  for (const pending of state.chat.pending.values()) send(messageFrame(pending));
}

function onMessage(frame) {
  const chat = state.chat;
  chat.messages.set(frame.seq, frame);
  chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
  if (frame.sender === "customer" && chat.pending.delete(frame.client_id)) {
    pendingElement(frame.client_id)?.remove();
  }
  if (frame.sender === "agent") {
    hideTyping();
    if (frame.agent) showAgent(frame.agent);
  }
  renderMessage(frame);
  if (frame.template === "survey") showRating();
  saveChat();
}

function onAck(frame) {
  const pending = state.chat.pending.get(frame.client_id);
  if (!pending) return;
  state.chat.pending.delete(frame.client_id);
  pendingElement(frame.client_id)?.remove();
  // The echo of our own message may still be on its way (it can overtake the ack or follow it).
  if (!state.chat.messages.has(frame.seq)) {
    const local = { seq: frame.seq, sender: "customer", text: pending.text, at: pending.at,
                    local: true };
    state.chat.messages.set(frame.seq, local);
    renderMessage(local);
  }
  saveChat();
}

function onClosed(frame) {
  state.chat.closedBy = frame.by;
  for (const clientId of state.chat.pending.keys()) markFailed(clientId, "会话已结束");
  state.chat.pending.clear();
  saveChat();
  hideTyping();
  setBanner("", null);
  showEnded("本次会话已结束", "This chat has ended");
}

function onRated(frame) {
  state.chat.rated = frame.score;
  saveChat();
  showRating();
}

function onError(frame) {
  if (frame.code === "already_rated") {
    state.chat.rated = state.chat.rated ?? true;
    saveChat();
    showRating();
    return;
  }
  if (frame.ref && state.chat.pending.has(frame.ref)) {
    // Resending cannot fix a refused message (too long, chat closed): stop retrying it.
    state.chat.pending.delete(frame.ref);
    markFailed(frame.ref, frame.message);
    saveChat();
  }
  showNotice(`${frame.message} (${frame.code})`);
}

// -- outgoing actions --------------------------------------------------------------------------

function newClientId() {
  // crypto.randomUUID needs a secure context; a LAN address over http is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `w-${Date.now().toString(36)}-${hex}`;
}

function messageFrame(pending) {
  return { type: "message", client_id: pending.client_id, text: pending.text };
}

function sendMessage(text) {
  const pending = { client_id: newClientId(), text, at: new Date().toISOString() };
  state.chat.pending.set(pending.client_id, pending);
  saveChat();
  renderPending(pending);
  if (state.ready) send(messageFrame(pending));
}

function sendTyping() {
  const now = Date.now();
  if (!state.ready || state.chat.closedBy || now - state.typingSentAt < TYPING_SEND_EVERY_MS) return;
  state.typingSentAt = now;
  send({ type: "typing" });
}

function endChat() {
  // Two clicks, so a stray tap does not end the chat.
  if (!state.endArmedTimer) {
    ui.endChat.textContent = "确认结束?";
    state.endArmedTimer = setTimeout(disarmEnd, 3000);
    return;
  }
  disarmEnd();
  send({ type: "close" });
}

function disarmEnd() {
  clearTimeout(state.endArmedTimer);
  state.endArmedTimer = null;
  ui.endChat.textContent = "结束会话";
}

function startNewChat() {
  disconnect();
  forgetChat();
  ui.log.replaceChildren();
  ui.ended.hidden = true;
  ui.rating.hidden = true;
  setBanner("", null);
  setComposerEnabled(true);
  state.retries = 0;
  connect();
  ui.input.focus();
}

// -- rendering ---------------------------------------------------------------------------------

function senderLabel(message) {
  if (message.sender === "agent") {
    const agent = message.agent;
    return agent ? `${agent.name} · 工号 ${agent.employee_no}` : "客服";
  }
  if (message.sender === "system") return "系统消息";
  return "我";
}

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
}

function messageElement(message) {
  const item = document.createElement("li");
  item.className = `msg msg-${message.sender}`;
  if (message.template) item.classList.add("msg-template", `msg-template-${message.template}`);
  const meta = document.createElement("div");
  meta.className = "msg-meta";
  const who = document.createElement("span");
  who.className = "msg-who";
  who.textContent = senderLabel(message);
  const time = document.createElement("time");
  time.dateTime = message.at || "";
  time.textContent = formatTime(message.at);
  meta.append(who, time);
  const bubble = document.createElement("div");
  bubble.className = "msg-text";
  bubble.textContent = message.text;
  item.append(meta, bubble);
  return item;
}

function renderMessage(message) {
  const element = messageElement(message);
  element.dataset.seq = String(message.seq);
  const existing = ui.log.querySelector(`[data-seq="${message.seq}"]`);
  if (existing) {
    existing.replaceWith(element);
    return;
  }
  ui.log.insertBefore(element, firstAfter(message.seq));
  scrollToEnd();
}

// Stored messages sit in seq order; messages still waiting for their ack stay below them.
function firstAfter(seq) {
  for (const child of ui.log.children) {
    if (child.dataset.seq === undefined || Number(child.dataset.seq) > seq) return child;
  }
  return null;
}

function renderPending(pending) {
  const element = messageElement({ sender: "customer", text: pending.text, at: pending.at });
  element.classList.add("is-pending");
  element.dataset.clientId = pending.client_id;
  const status = document.createElement("div");
  status.className = "msg-state";
  status.textContent = "发送中…";
  element.append(status);
  ui.log.append(element);
  scrollToEnd();
}

function pendingElement(clientId) {
  return [...ui.log.querySelectorAll(".is-pending")].find((el) => el.dataset.clientId === clientId);
}

function markFailed(clientId, reason) {
  const element = pendingElement(clientId);
  if (!element) return;
  element.classList.replace("is-pending", "is-failed");
  element.querySelector(".msg-state").textContent = `未发送:${reason}`;
}

function scrollToEnd() {
  ui.log.scrollTop = ui.log.scrollHeight;
}

const CONNECTION_TEXT = {
  connecting: "连接中…",
  reconnecting: "连接已断开,正在重连…",
  ready: "在线",
  offline: "未连接",
};

function setConnection(name) {
  ui.chat.dataset.state = name;
  ui.connection.textContent = CONNECTION_TEXT[name];
}

function setBanner(text, kind) {
  ui.banner.textContent = text;
  ui.banner.dataset.kind = kind || "";
  ui.banner.hidden = !text;
}

function showQueue(position) {
  setBanner(`正在为您安排客服,当前排队第 ${position} 位`, "queue");
}

function showInvite(position) {
  const ahead = position > 1 ? `,目前有 ${position - 1} 位客户在排队` : "";
  setBanner(`请描述您的问题,我们将为您安排客服${ahead}`, "queue");
}

function showAgent(agent) {
  if (!state.chat.closedBy) setBanner(`客服 ${agent.name}(工号 ${agent.employee_no})为您服务`, "agent");
}

function showTyping() {
  ui.typing.hidden = false;
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(hideTyping, TYPING_SHOW_MS);
}

function hideTyping() {
  clearTimeout(state.typingTimer);
  ui.typing.hidden = true;
}

function showNotice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
  clearTimeout(state.noticeTimer);
  state.noticeTimer = setTimeout(() => { ui.notice.hidden = true; }, NOTICE_SHOW_MS);
}

function showEnded(text, hint) {
  const line = ui.ended.querySelector("p");
  line.textContent = `${text} `;
  const small = document.createElement("small");
  small.textContent = hint;
  line.append(small);
  ui.ended.hidden = false;
  ui.chat.dataset.closed = "true";
  setComposerEnabled(false);
}

// S-survey: the server offers it (the `survey` template) when the chat can be rated, once.
function showRating() {
  const rated = state.chat.rated;
  if (!ui.scores.childElementCount) {
    for (let score = 0; score <= 10; score += 1) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = String(score);
      button.dataset.score = String(score);
      button.addEventListener("click", () => send({ type: "rate", score }));
      ui.scores.append(button);
    }
  }
  ui.scores.hidden = rated !== null;
  ui.ratingPrompt.textContent = rated === null ? "请为本次服务打分 "
    : typeof rated === "number" ? `感谢您的评价:${rated} 分 ` : "感谢您的评价 ";
  const small = document.createElement("small");
  small.textContent = rated === null ? "Rate this chat, 0–10" : "Thank you for rating";
  ui.ratingPrompt.append(small);
  ui.rating.hidden = false;
}

function setComposerEnabled(enabled) {
  ui.input.disabled = !enabled;
  ui.composer.querySelector("button").disabled = !enabled;
  ui.endChat.hidden = !enabled;
  if (enabled) delete ui.chat.dataset.closed;
}

// -- wiring ------------------------------------------------------------------------------------

function submit(event) {
  event.preventDefault();
  const text = ui.input.value.trim();
  if (!text || state.chat.closedBy) return;
  ui.input.value = "";
  autoGrow();
  sendMessage(text);
}

function autoGrow() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${ui.input.scrollHeight}px`;
}

function onKeyDown(event) {
  // isComposing: Enter also confirms a pinyin candidate; that must not send.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
}

function start() {
  const ordered = [...state.chat.messages.values()].sort((a, b) => a.seq - b.seq);
  for (const message of ordered) renderMessage(message);
  for (const pending of state.chat.pending.values()) renderPending(pending);
  if (state.chat.agent) setAgent(state.chat.agent);
  if (ordered.some((message) => message.template === "survey")) showRating();
  ui.composer.addEventListener("submit", submit);
  ui.input.addEventListener("keydown", onKeyDown);
  ui.input.addEventListener("input", () => { autoGrow(); sendTyping(); });
  ui.endChat.addEventListener("click", endChat);
  ui.newChat.addEventListener("click", startNewChat);
  // Back online: try now rather than at the end of a long backoff.
  window.addEventListener("online", () => { if (state.retryTimer && !state.socket) connect(); });
  setComposerEnabled(true);
  connect();
}

start();
