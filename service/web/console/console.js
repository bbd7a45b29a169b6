// The agent console: one socket to /ws/agent speaking contract v1 (docs/protocol.md).
//
// Every chat keeps its own transcript element; selecting a chat swaps it into the pane. On a
// reconnect the console resumes each open chat from the last seq it holds, so nothing is resent.

import { Files, UploadError, imagesIn } from "/common/files.js";
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, ChatSocket } from "/common/socket.js";
import { newAssignment, setTitle, toggleNotifications, notificationsWanted, unlockSound } from "./alerts.js";
import { ServerClock, minutesSeconds, waitLevel } from "./clock.js";
import { Complaints } from "./complaints.js";
import { QuickReplies } from "./quick.js";
import { firstAfter, formatTime, lineElement, markFailed, pendingElement, pendingLine } from "./lines.js";
import { listItem, statusTag } from "./list.js";
import { OwnerChain } from "./owners.js";
import { Tasks } from "./tasks.js";
import { Transfer } from "./transfer.js";
import { errorText, refusalText, templateName } from "./words.js";

const TOKEN_KEY = "kefu.console.token";
const TYPING_SEND_EVERY_MS = 2500;
const TYPING_SHOW_MS = 4000;
const ERROR_SHOW_MS = 8000;
// A read is told once the newest line has been on screen this long (not once per line).
const READ_AFTER_MS = 400;
const UPLOAD_ERRORS = {
  upload_too_large: "文件太大",
  unsupported_media: "只能发送 PNG、JPEG、WebP 图片或 PDF",
  bad_upload: "文件已损坏",
  not_your_chat: "会话已不在您这里",
  invalid_state: "会话已结束",
  network: "网络异常",
};

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
  notify: $("notify"),
  suggestions: $("suggestions"),
  quick: $("quick"),
  quickOpen: $("quick-open"),
  noteMode: $("note-mode"),
  transferChat: $("transfer-chat"),
  correcting: $("correcting"),
  correctingText: $("correcting-text"),
  correctCancel: $("correct-cancel"),
  attach: $("attach"),
  file: $("file"),
  owners: $("owners"),
  ownersList: $("owners-list"),
};

const state = {
  stopped: true,
  errorTimer: null,
  closeArmedTimer: null,
  typingSentAt: 0,
  agent: null,
  chats: new Map(),
  selected: null,
  correcting: null, // {chat, seq}: the next send corrects this line (S-correction)
  readTimer: null,
};

// Uploads and links use the agent token, the socket's own credential.
const files = new Files(() => ui.token.value.trim(), {
  onImageLoad: (image) => { if (ui.transcript.contains(image)) scrollToEnd(); },
});

const clock = new ServerClock();
const ownerChain = new OwnerChain(
  { section: ui.owners, list: ui.ownersList }, () => ui.token.value.trim(), () => state.selected,
  (chatId) => statusTag(state.chats.get(chatId)?.status),
);

const transfer = new Transfer(
  { open: ui.transferChat, form: $("transfer"), to: $("transfer-to"), note: $("transfer-note"),
    cancel: $("transfer-cancel"), error: $("transfer-error") },
  (frame) => send(frame),
  () => selectedChat()?.id ?? null,
);

const complaints = new Complaints(
  { open: $("complaint-chat"), form: $("complaint-form"), topic: $("complaint-topic"),
    summary: $("complaint-summary"), cancel: $("complaint-cancel"), drafts: $("drafts"),
    amount: $("complaint-amount"), date: $("complaint-date"), time: $("complaint-time"),
    order: $("complaint-order") },
  (frame) => send(frame),
  (text) => showBanner(text, "ok"),
);

const quick = new QuickReplies(
  { quick: ui.quick, search: $("quick-search"), list: $("quick-list"), vars: $("quick-vars"),
    input: ui.input },
  (key, vars) => { const chat = selectedChat(); if (chat) sendTemplate(chat, key, vars); },
  (kind, dueAt) => sendPromise(kind, dueAt),
  () => clock.now(),
);

const tasks = new Tasks(
  { list: $("task-list"), empty: $("no-tasks"), count: $("task-count") },
  (frame) => send(frame),
  () => state.agent?.id,
);

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
    // Read receipts: how far the customer has read (our ✓✓), how far we said we have.
    customerRead: summary.read?.customer || 0,
    readSent: summary.read?.agent || 0,
    // Messages up to here were in the chat before this console saw it: not "unread".
    seenSeq: summary.last_seq || 0,
    unread: 0,
    preview: "",
    draft: "",
    fresh: false, // assigned while the console is open, not looked at yet
    suggestions: new Map(), // template key -> the server's `suggest` frame
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
  if (summary.read) {
    chat.customerRead = Math.max(chat.customerRead, summary.read.customer);
    chat.readSent = Math.max(chat.readSent, summary.read.agent);
    markRead(chat);
  }
  return chat;
}

function customerName(customer) {
  if (!customer) return "顾客";
  if (customer.name) return customer.name;
  return customer.guest ? `访客 #${customer.id}` : `玩家 ${customer.player_id}`;
}

function selectedChat() {
  const chat = state.chats.get(state.selected);
  return chat && chat.status === "open" ? chat : null;
}

function openChats() {
  return [...state.chats.values()].filter((chat) => chat.status === "open");
}

// -- the socket --------------------------------------------------------------------------------

const socket = new ChatSocket({
  path: "/ws/agent",
  hello: helloFrame,
  onFrame,
  onState: setConnection,
  onClose: onSocketClosed,
});
const send = (frame) => socket.send(frame);

function connect() {
  state.stopped = false;
  socket.connect();
}

function disconnect() {
  state.stopped = true;
  socket.stop("signed out");
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

// Whether to reconnect: not after signing out, nor when the token was refused.
function onSocketClosed(event) {
  if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
    state.stopped = true;
    showBanner(`已断开,请检查 token:${event.reason || "token 无效或已停用"} (${event.code})`);
    return false;
  }
  return !state.stopped;
}

// -- incoming frames ---------------------------------------------------------------------------

const handlers = {
  ready: onReady,
  assigned: onAssigned,
  message: (frame) => onMessage(frame, true),
  ack: onAck,
  typing: onTyping,
  closed: onClosed,
  read: onRead,
  status: (frame) => setStatus(frame.status),
  error: onError,
  timing: onTiming,
  reminder: onReminder,
  unassigned: onUnassigned,
  closing: (frame) => setClosesAt(frame.chat_id, frame.closes_at),
  reopened: (frame) => setClosesAt(frame.chat_id, null),
  transferred: onTransferred,
  suggest: onSuggest,
  complaint: (frame) => complaints.onFrame(frame),
  promise: onPromise,
  promises: (frame) => tasks.onList(frame),
  alert: (frame) => showBanner(`主管提醒:${ALERTS[frame.kind] || frame.kind}${frame.queued ? `,${frame.queued} 位客户等待` : ""}`),
};

const ALERTS = { desk_unattended: "无人值班", callback_overdue: "留言回电已超时" };

function onPromise(frame) {
  tasks.onFrame(frame);
  const card = frame.promise;
  // A supervisor hears of every overdue promise; an owner of their own.
  if (frame.event === "overdue") {
    showBanner(`约定已超时:会话 #${card.chat_id},${card.agent.name}(工号 ${card.agent.employee_no})`);
  } else if (frame.event === "reminder") {
    showBanner(`约定即将到期:会话 #${card.chat_id}`, "ok");
  } else if (frame.event === "handed_over" && card.agent.id === state.agent?.id) {
    showBanner(`交接班:会话 #${card.chat_id} 的约定交给您跟进`, "ok");
  }
}

function onFrame(frame) {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
}

function onReady(frame) {
  state.agent = frame.agent;
  hideBanner();
  ui.meName.textContent = frame.agent.name;
  ui.meNo.textContent = `工号 ${frame.agent.employee_no}`;
  setStatus(frame.agent.status);
  setConnection("ready");
  quick.setTemplates(frame.templates || []);
  const listed = new Set(frame.chats.map((summary) => summary.chat_id));
  // Open chats missing from the list were closed or handed on while we were away.
  for (const chat of openChats()) if (!listed.has(chat.id)) chat.status = "returned";
  for (const summary of frame.chats) upsertChat(summary);
  for (const chat of openChats()) {
    for (const pending of chat.pending.values()) send(messageFrame(chat, pending));
  }
  if (state.selected === null && frame.chats.length) selectChat(frame.chats[0].chat_id);
  send({ type: "promises" });
  refresh();
}

function onAssigned(frame) {
  const isNew = !state.chats.has(frame.chat_id);
  const chat = upsertChat(frame);
  // A chat just handed to us: what the customer already wrote is waiting for an answer.
  if (isNew) {
    chat.seenSeq = 0;
    chat.fresh = true;
    newAssignment(customerName(chat.customer));
  }
  for (const message of frame.history || []) onMessage(message, false);
  if (state.selected === null) selectChat(chat.id, { auto: true });
  else if (state.selected === chat.id) ownerChain.load(chat.id);
  refresh();
}

function onMessage(frame, live) {
  const chat = state.chats.get(frame.chat_id);
  if (!chat) return;
  chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
  if (live) clock.learn(frame.at);
  if (frame.sender === "agent" && chat.pending.delete(frame.client_id)) {
    pendingElement(chat.log, frame.client_id)?.remove();
  }
  // A reply ends the customer's wait (also when its ack already placed it in the log).
  // S-hold: the hold (a system line) counts the minute until the agent writes again.
  if (frame.template === "hold") chat.heldSince = frame.at;
  if (frame.sender === "agent" && !frame.internal) {
    chat.heldSince = null;
    chat.waitingSince = null;
    chat.late = false;
    if (frame.template) chat.suggestions.delete(frame.template);
  }
  if (frame.corrects) chat.log.querySelector(`[data-seq="${frame.corrects}"]`)?.classList.add("is-corrected");
  const known = chat.log.querySelector(`[data-seq="${frame.seq}"]`);
  if (known) {
    // Already shown (history overlap, or our reply placed at its ack): the server's copy wins.
    known.replaceWith(seqElement(chat, frame));
    if (live) refresh();
    return;
  }
  if (!frame.internal) chat.preview = frame.text || (frame.attachments?.length ? "[图片/文件]" : "");
  if (frame.sender === "customer") {
    if (!chat.waitingSince) chat.waitingSince = frame.at;
    stopTyping(chat);
    if (chat.id !== state.selected && frame.seq > chat.seenSeq) chat.unread += 1;
  }
  renderMessage(chat, frame);
  if (live) {
    refresh();
    if (frame.sender === "customer") scheduleRead();
  }
}

function onRead(frame) {
  const chat = state.chats.get(frame.chat_id);
  if (!chat || frame.by !== "customer") return;
  chat.customerRead = Math.max(chat.customerRead, frame.seq);
  markRead(chat);
}

// Our visible lines: ✓ stored, ✓✓ once the customer has read them.
function tickLine(chat, element) {
  if (!element.classList.contains("msg-agent") || element.classList.contains("msg-internal")) return;
  if (!element.dataset.seq) return;
  const read = Number(element.dataset.seq) <= chat.customerRead;
  let mark = element.querySelector(".msg-tick");
  if (!mark) {
    mark = document.createElement("span");
    mark.className = "msg-tick";
    element.querySelector(".msg-meta").append(mark);
  }
  mark.textContent = read ? "✓✓" : "✓";
  mark.title = read ? "顾客已读" : "已送达";
  mark.setAttribute("aria-label", mark.title);
  element.classList.toggle("is-read", read);
}

function markRead(chat) {
  for (const element of chat.log.querySelectorAll(".msg-agent[data-seq]")) tickLine(chat, element);
}

// Tell the customer how far we have read the chat on screen.
function scheduleRead() {
  clearTimeout(state.readTimer);
  state.readTimer = setTimeout(sendRead, READ_AFTER_MS);
}

function sendRead() {
  const chat = selectedChat();
  if (!chat || !socket.ready || document.hidden || chat.lastSeq <= chat.readSent) return;
  if (send({ type: "read", chat_id: chat.id, seq: chat.lastSeq })) chat.readSent = chat.lastSeq;
}

function onAck(frame) {
  quick.acked(frame.client_id);
  const chat = state.chats.get(frame.chat_id);
  const pending = chat?.pending.get(frame.client_id);
  if (!pending) return;
  chat.pending.delete(frame.client_id);
  const element = pendingElement(chat.log, frame.client_id);
  // Our own message also comes back as a `message` frame; whichever is first shows it.
  if (chat.log.querySelector(`[data-seq="${frame.seq}"]`)) {
    element?.remove();
  } else if (element) {
    element.classList.remove("is-pending");
    element.querySelector(".msg-state").remove();
    element.dataset.seq = String(frame.seq);
    chat.log.insertBefore(element, firstAfter(chat.log, frame.seq));
    tickLine(chat, element);
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
  for (const clientId of chat.pending.keys()) markFailed(chat.log, clientId, "未发送:会话已结束");
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
  for (const clientId of chat.pending.keys()) markFailed(chat.log, clientId, "未发送:会话已转给其他客服");
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
  chat.status = "transferred";
  chat.transferredTo = frame.to.agent ? `${frame.to.agent.name}(${frame.to.agent.employee_no})` : `${frame.to.group} 组`;
  transfer.done();
  stopTyping(chat);
  refresh();
}

function onSuggest(frame) {
  const chat = state.chats.get(frame.chat_id);
  if (!chat) return;
  chat.suggestions.set(frame.key, frame);
  refresh();
}

function onError(frame) {
  if (frame.code === "transfer_refused" && transfer.refused(frame)) return;
  if (quick.refused(frame, errorText(frame))) return;
  for (const chat of state.chats.values()) {
    const pending = frame.ref && chat.pending.get(frame.ref);
    if (!pending) continue;
    // A refused message (closed chat, too long) would be refused again: stop resending it.
    chat.pending.delete(frame.ref);
    if (frame.code === "forbidden_phrase") {
      // Shown once, where the line was, with the standard's wording one click away.
      showRefusal(chat, pending, frame);
      return;
    }
    markFailed(chat.log, frame.ref, `未发送:${errorText(frame)}`);
  }
  showError(errorText(frame));
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
  const type = pending.note ? "note" : "message";
  const frame = { type, chat_id: chat.id, client_id: pending.client_id, text: pending.text };
  if (pending.cards?.length) frame.attachments = pending.cards.map((card) => card.id);
  return frame;
}

// A picture or a PDF for the customer: shown at once, uploaded, then sent as a message.
async function sendFile(chat, file) {
  if (chat.status !== "open") return;
  const at = new Date(clock.now()).toISOString();
  const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : null;
  const pending = {
    client_id: newClientId(), text: "", at, uploading: true,
    cards: [{ id: null, content_type: file.type || "application/octet-stream", name: file.name || "image",
              size: file.size }],
  };
  const line = { sender: "agent", text: "", at, attachments: pending.cards };
  const element = pendingLine(line, senderLabel(chat, line), pending.client_id);
  element.querySelector(".msg-state").textContent = "上传中…";
  element.insertBefore(files.elements(chat.id, pending.cards, { preview }), element.querySelector(".msg-state"));
  chat.log.append(element);
  scrollToEnd();
  hideError();
  try {
    const card = await files.upload(chat.id, file);
    Object.assign(pending, { uploading: false, cards: [card] });
    chat.pending.set(pending.client_id, pending);
    element.querySelector(".msg-state").textContent = "发送中…";
    if (socket.ready) send(messageFrame(chat, pending));
  } catch (error) {
    const why = error instanceof UploadError ? UPLOAD_ERRORS[error.code] || error.message : "上传失败";
    element.classList.replace("is-pending", "is-failed");
    element.querySelector(".msg-state").textContent = `未发送:${why}`;
  }
}

function sendTemplate(chat, key, vars) {
  const frame = { type: "template", chat_id: chat.id, key, client_id: newClientId() };
  if (vars) frame.vars = vars;
  hideError();
  send(frame);
}

function sendPromise(kind, dueAt) {
  const chat = selectedChat();
  if (!chat) return null;
  const frame = { type: "promise", chat_id: chat.id, kind, due_at: dueAt, client_id: newClientId() };
  hideError();
  send(frame);
  return frame.client_id;
}

function sendReply(chat, text, note = false) {
  // Shown at the server's time, as the stored lines are (the browser's clock may differ).
  const at = new Date(clock.now()).toISOString();
  const pending = { client_id: newClientId(), text, at, note };
  chat.pending.set(pending.client_id, pending);
  renderPending(chat, pending);
  hideError();
  if (socket.ready) send(messageFrame(chat, pending));
}

function sendTyping(chat) {
  const now = Date.now();
  if (!socket.ready || now - state.typingSentAt < TYPING_SEND_EVERY_MS) return;
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

// An automatic pick (the first chat to arrive) leaves it marked new until the agent looks.
function selectChat(chatId, { auto = false } = {}) {
  const previous = state.chats.get(state.selected);
  if (previous) previous.draft = ui.input.value;
  const chat = state.chats.get(chatId);
  if (!chat) return;
  disarmClose();
  state.selected = chatId;
  chat.unread = 0;
  if (!auto) chat.fresh = false;
  transfer.close();
  complaints.close();
  stopCorrecting();
  if (quick.isOpen) ui.quick.hidden = true;
  ui.transcript.replaceChildren(chat.log);
  // S-first-responder: who held it before us, read while it is ours to read.
  if (chat.status === "open") ownerChain.load(chatId);
  else ownerChain.show(chatId);
  ui.input.value = chat.draft;
  hideError();
  refresh();
  scrollToEnd();
  scheduleRead();
}

// -- rendering ---------------------------------------------------------------------------------

function senderLabel(chat, message) {
  if (message.kind === "handoff") return `交接备注 · ${message.agent?.name || ""}`;
  if (message.internal) return `内部备注 · ${message.agent?.name || ""}`;
  if (message.sender === "customer") return customerName(chat.customer);
  if (message.sender === "agent") {
    const agent = message.agent || state.agent;
    return agent ? `${agent.name}(${agent.employee_no})` : "客服";
  }
  return message.template ? `系统 · ${templateName(message.template)}` : "系统";
}

function seqElement(chat, message) {
  const element = lineElement(message, senderLabel(chat, message));
  element.dataset.seq = String(message.seq);
  if (message.attachments?.length) element.append(files.elements(chat.id, message.attachments));
  // S-correction: the agent's own visible lines can be corrected.
  const own = message.sender === "agent" && !message.internal && message.agent
    && state.agent && message.agent.employee_no === state.agent.employee_no;
  if (own && message.template !== "correction") {
    const fix = document.createElement("button");
    fix.type = "button";
    fix.className = "msg-fix";
    fix.textContent = "更正";
    fix.title = "发错了:先致歉,再发正确内容";
    fix.addEventListener("click", () => startCorrecting(chat, message));
    element.querySelector(".msg-meta").append(fix);
  }
  return element;
}

function startCorrecting(chat, message) {
  if (chat.status !== "open") return;
  state.correcting = { chat, seq: message.seq };
  ui.correctingText.textContent = `更正第 ${message.seq} 条:发送后顾客先收到致歉,再收到正确内容`;
  ui.correcting.hidden = false;
  ui.input.value = message.text;
  ui.input.focus();
}

function stopCorrecting() {
  state.correcting = null;
  ui.correcting.hidden = true;
}

function renderMessage(chat, message) {
  const element = seqElement(chat, message);
  chat.log.insertBefore(element, firstAfter(chat.log, message.seq));
  tickLine(chat, element);
  if (chat.id === state.selected) scrollToEnd();
}

function renderPending(chat, pending) {
  const line = { sender: "agent", text: pending.text, at: pending.at, internal: pending.note };
  chat.log.append(pendingLine(line, senderLabel(chat, line), pending.client_id));
  scrollToEnd();
}

function scrollToEnd() {
  ui.transcript.scrollTop = ui.transcript.scrollHeight;
}

function showRefusal(chat, pending, frame) {
  const element = markFailed(chat.log, pending.client_id, refusalText(frame));
  if (!element) return;
  if (!frame.suggestion) return;
  const row = document.createElement("div");
  row.className = "msg-refusal";
  const use = document.createElement("button");
  use.type = "button";
  use.className = "use-suggestion";
  // The phrase as written is swapped for the standard's wording; if the guard matched a
  // disguised form, the agent gets the wording in the reply box to finish the sentence.
  const fixed = pending.text.includes(frame.phrase) ? pending.text.split(frame.phrase).join(frame.suggestion) : null;
  use.textContent = fixed ? `改用建议措辞发送:${fixed}` : "把建议措辞放进输入框";
  use.addEventListener("click", () => {
    element.remove();
    if (fixed) {
      sendReply(chat, fixed);
      return;
    }
    ui.input.value = frame.suggestion;
    ui.input.focus();
  });
  row.append(use);
  element.append(row);
}

function paintClock(element, chat) {
  if (!chat.waitingSince) return;
  const s = clock.secondsSince(chat.waitingSince);
  element.textContent = minutesSeconds(s);
  element.title = `顾客已等待 ${s} 秒`;
  element.classList.toggle("is-amber", waitLevel(s) === "amber");
  element.classList.toggle("is-red", waitLevel(s) === "red");
}

function tick() {
  for (const element of ui.chatList.querySelectorAll(".chat-wait")) {
    const chat = state.chats.get(Number(element.dataset.chatId));
    if (chat) paintClock(element, chat);
  }
  paintHold();
}

// The hold's minute (S-hold, KEFU_HOLD_S by default 60 s), counted in the header.
function paintHold() {
  const chat = selectedChat();
  const hold = ui.holdChat;
  if (!chat?.heldSince) {
    hold.removeAttribute("data-held");
    hold.firstChild.textContent = "请稍等 ";
    return;
  }
  const s = clock.secondsSince(chat.heldSince);
  hold.dataset.held = waitLevel(s) === "red" ? "late" : "on";
  hold.firstChild.textContent = `保持中 ${minutesSeconds(s)} `;
}

function renderSuggestions(chat) {
  const open = chat.status === "open";
  const chips = [...chat.suggestions.values()].map((frame) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "suggestion";
    chip.dataset.key = frame.key;
    chip.title = frame.text;
    chip.textContent = `建议 · ${templateName(frame.key)}:${frame.text}`;
    chip.addEventListener("click", () => {
      chat.suggestions.delete(frame.key);
      sendTemplate(chat, frame.key, null);
      refresh();
    });
    return chip;
  });
  ui.suggestions.replaceChildren(...chips);
  ui.suggestions.hidden = !open || !chips.length;
}

function renderList() {
  const order = { open: 0, returned: 1, transferred: 1, closed: 2 };
  const chats = [...state.chats.values()].sort((a, b) => order[a.status] - order[b.status]);
  ui.chatList.replaceChildren(...chats.map((chat) => listItem(chat, {
    current: chat.id === state.selected,
    name: customerName(chat.customer),
    onSelect: () => selectChat(chat.id),
    paintClock,
  })));
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
  if (statusTag(chat.status)) parts.push(statusTag(chat.status));
  if (chat.status === "transferred") parts.push(`给 ${chat.transferredTo}`);
  if (chat.status === "open" && chat.waitingSince) {
    parts.push(`顾客等待自 ${formatTime(chat.waitingSince)}`);
  }
  if (chat.status === "open" && chat.closesAt) parts.push(`${formatTime(chat.closesAt)} 结束`);
  if (chat.status === "open" && chat.heldSince) parts.push("保持中");
  ui.chatSub.textContent = parts.join(" · ");
  if (chat.status !== "open") ownerChain.show(chat.id);
  const open = chat.status === "open";
  ui.input.disabled = !open;
  ui.composer.querySelector("button[type=submit]").disabled = !open;
  ui.attach.disabled = !open;
  // In the closing grace the chat waits for the customer: no second close, no hold.
  ui.closeChat.hidden = !open || Boolean(chat.closesAt);
  ui.holdChat.hidden = !open || Boolean(chat.closesAt);
  ui.transferChat.hidden = !open || Boolean(chat.closesAt);
  complaints.render(chat.id, open);
  if (!open) transfer.close();
  ui.quickOpen.disabled = !open;
  ui.typing.hidden = !chat.customerTyping;
  renderSuggestions(chat);
  paintHold();
}

function refresh() {
  renderList();
  renderPane();
  const chats = [...state.chats.values()];
  const waiting = chats.reduce((n, chat) => n + chat.unread + (chat.fresh ? 1 : 0), 0);
  setTitle(waiting, chats.some((chat) => chat.fresh));
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

function showBanner(text, kind = "") {
  ui.banner.textContent = text;
  ui.banner.dataset.kind = kind;
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
  unlockSound();
  localStorage.setItem(TOKEN_KEY, token);
  hideBanner();
  socket.retries = 0;
  connect();
}

function submitReply(event) {
  event.preventDefault();
  const chat = state.chats.get(state.selected);
  const text = ui.input.value.trim();
  if (!chat || chat.status !== "open" || !text) return;
  ui.input.value = "";
  chat.draft = "";
  if (state.correcting?.chat === chat) {
    // The ack carries the corrected line's seq, so this is not a pending line of its own.
    send({ type: "correct", chat_id: chat.id, seq: state.correcting.seq, text, client_id: newClientId() });
    stopCorrecting();
    return;
  }
  sendReply(chat, text, ui.noteMode.checked);
}

async function flipNotifications() {
  const on = await toggleNotifications();
  ui.notify.setAttribute("aria-pressed", String(on));
}

function onKeyDown(event) {
  // "/" in an empty reply box opens the quick replies (a "/" inside a sentence is just text).
  if (event.key === "/" && !ui.input.value && selectedChat()) {
    event.preventDefault();
    quick.open();
    return;
  }
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
  ui.input.addEventListener("paste", (event) => {
    const chat = selectedChat();
    const images = imagesIn(event.clipboardData?.items);
    if (!chat || !images.length) return;
    event.preventDefault();
    for (const image of images) sendFile(chat, image);
  });
  ui.attach.addEventListener("click", () => ui.file.click());
  ui.file.addEventListener("change", () => {
    const chat = selectedChat();
    if (chat) for (const file of ui.file.files) sendFile(chat, file);
    ui.file.value = "";
  });
  document.addEventListener("visibilitychange", scheduleRead);
  ui.input.addEventListener("focus", () => {
    const chat = state.chats.get(state.selected);
    if (chat?.fresh) {
      chat.fresh = false;
      refresh();
    }
  });
  ui.quickOpen.addEventListener("click", () => (quick.isOpen ? quick.close() : quick.open()));
  ui.noteMode.addEventListener("change", () => {
    ui.paneChat.dataset.note = String(ui.noteMode.checked);
    ui.input.placeholder = ui.noteMode.checked ? "内部备注:只有客服能看到" : "输入回复,Enter 发送,Shift+Enter 换行,/ 快捷回复";
    ui.input.focus();
  });
  ui.notify.addEventListener("click", flipNotifications);
  $("complaint-chat").addEventListener("click", () => complaints.toggle());
  ui.correctCancel.addEventListener("click", () => { stopCorrecting(); ui.input.value = ""; });
  ui.notify.setAttribute("aria-pressed", String(notificationsWanted()));
  document.addEventListener("pointerdown", unlockSound, { once: true });
  setInterval(tick, 1000);
  setConnection("offline");
  refresh();
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) {
    ui.token.value = token;
    connect();
  }
}

start();
