// The customer chat page: one socket to /ws/customer speaking contract v1 (docs/protocol.md).
// Opened on its own (/widget/) or framed by the embed loader (widget.js, /widget/?embed=1), which
// passes the host page's signed player by postMessage.
//
// The chat (resume token, transcript, unsent messages) is kept in sessionStorage: a reload shows
// the transcript at once and resumes with `last_seq`, so the server sends only what was missed;
// closing the tab forgets it (a shared computer does not show the last customer's chat).

import { Files, imagesIn } from "/common/files.js";
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED, ChatSocket } from "/common/socket.js";
import { Log } from "./log.js";
import { clearChat, emptyChat, loadChat, saveChat as store } from "./store.js";
import { pickLocale, strings } from "./strings.js";

const TYPING_SEND_EVERY_MS = 2500;
const TYPING_SHOW_MS = 4000;
const NOTICE_SHOW_MS = 6000;
// Reads are told once the newest line has been on screen this long (and not once per line).
const READ_AFTER_MS = 400;
// Framed but the host never answers (an old loader, a blocked script): chat as a guest anyway.
const HOST_WAIT_MS = 3000;
const TOPICS = ["recharge", "account", "gameplay", "technical", "service", "other"];
const COLOUR = /^#[0-9a-fA-F]{3,8}$/;
const DEVICE_KEY = "kefu.widget.device";

const params = new URLSearchParams(location.search);
const config = {
  embed: params.get("embed") === "1",
  locale: pickLocale(params.get("locale")),
  group: (params.get("group") || "").slice(0, 32) || null,
  title: (params.get("title") || "").slice(0, 60) || null,
  colour: COLOUR.test(params.get("colour") || "") ? params.get("colour") : null,
  hostOrigin: params.get("origin") || null,
};
const t = strings(config.locale);

const $ = (id) => document.getElementById(id);
const ui = Object.fromEntries([
  "chat", "title", "connection", "complain", "endChat", "minimise", "incident", "banner", "log",
  "announce",
  "typing", "notice", "leave", "leaveContact", "leaveText", "leaveCancel", "leaveOffer",
  "complaint", "complaintTopic", "complaintText", "complaintCancel", "rating", "ratingPrompt",
  "scores", "scale", "ratingMore", "ratingComment", "ended", "endedText", "newChat", "composer",
  "input", "attach", "file",
].map((name) => [name, $(name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))]));

const state = {
  typingSentAt: 0,
  typingTimer: null,
  noticeTimer: null,
  endArmedTimer: null,
  player: null, // the signed player the host passed (embed only)
  visible: !config.embed,
  unread: 0,
  score: null, // the score picked, not yet sent
  readTimer: null,
  chat: loadChat(),
};

// Uploads and links use the chat's resume token, the socket's own credential.
const files = new Files(() => state.chat.token, { onImageLoad: () => log.scrollToEnd() });
const log = new Log(ui.log, {
  label: senderLabel, t, locale: config.locale, files,
  chatId: () => state.chat.chatId,
  readUpTo: () => state.chat.agentRead || 0,
});

function saveChat() {
  store(state.chat);
}

function forgetChat() {
  clearChat();
  state.chat = emptyChat();
}

// -- the host page (embed mode) ----------------------------------------------------------------

function fromHost(event) {
  // Only the page that framed us, at the origin the loader named (and the browser confirms).
  if (event.source !== window.parent || event.origin !== config.hostOrigin) return false;
  const ancestors = location.ancestorOrigins;
  return !ancestors || !ancestors.length || ancestors[0] === config.hostOrigin;
}

function toHost(message) {
  if (config.embed && config.hostOrigin) {
    window.parent.postMessage({ kefu: "chat", ...message }, config.hostOrigin);
  }
}

function validPlayer(player) {
  if (!player || typeof player !== "object") return null;
  const { id, name, tier, ts, sig } = player;
  if (typeof id !== "string" || typeof sig !== "string" || !Number.isInteger(ts)) return null;
  // Exactly the fields of hello.player: the server rejects any other.
  return { id, name: typeof name === "string" ? name : null,
           tier: typeof tier === "string" ? tier : null, ts, sig };
}

function onHostMessage(event) {
  if (!fromHost(event) || !event.data || event.data.kefu !== "host") return;
  const message = event.data;
  if (message.type === "init") {
    state.player = validPlayer(message.player);
    begin();
  } else if (message.type === "identify") {
    const player = validPlayer(message.player);
    const changed = (player?.id ?? null) !== (state.player?.id ?? null);
    state.player = player;
    // Another player's chat is never resumed: start this player's own.
    if (changed && state.chat.token) startNewChat();
  } else if (message.type === "visible") {
    state.visible = Boolean(message.open);
    if (state.visible) {
      scheduleRead();
      state.unread = 0;
      toHost({ type: "unread", count: 0 });
      log.scrollToEnd();
      ui.input.disabled ? ui.newChat.focus() : ui.input.focus();
    }
  }
}

let began = false;

function begin() {
  if (began) return;
  began = true;
  // A stored chat of another player (or of a guest, now signed in) is not this customer's.
  if (state.chat.token && state.chat.playerId !== (state.player?.id ?? null)) {
    forgetChat();
    log.clear();
  }
  socket.connect();
}

// -- the socket --------------------------------------------------------------------------------

const socket = new ChatSocket({
  path: "/ws/customer",
  hello: helloFrame,
  onFrame,
  onState: setConnection,
  onClose: onSocketClosed,
});
const send = (frame) => socket.send(frame);

function helloFrame() {
  const hello = { type: "hello", locale: config.locale };
  if (state.chat.token) {
    // The chat already belongs to its player: a resume needs only its token.
    hello.resume = { token: state.chat.token, last_seq: state.chat.lastSeq };
    return hello;
  }
  if (state.player) hello.player = state.player;
  if (config.group) hello.group = config.group;
  const device = deviceId();
  if (device) hello.device = device;
  return hello;
}

// One id per browser, kept across tabs and chats: a guest's tabs count as one person when
// complaints are counted towards a batch (S-classes batch).
function deviceId() {
  try {
    let id = localStorage.getItem(DEVICE_KEY);
    if (!id) {
      id = `w-${crypto.randomUUID()}`;
      localStorage.setItem(DEVICE_KEY, id);
    }
    return id.slice(0, 64);
  } catch {
    return null; // storage refused (private mode, a sandbox): the address still counts
  }
}

// Whether to reconnect: not when the server refused who we are, nor after the chat closed.
function onSocketClosed(event) {
  hideTyping();
  if (event.code === CLOSE_FORBIDDEN && state.chat.token) {
    forgetChat();
    showEnded(t.expired);
    return false;
  }
  if (event.code === CLOSE_FORBIDDEN && state.player) {
    // The host's signature expired or does not match: a new chat starts as a guest.
    state.player = null;
    showEnded(t.identityRefused);
    return false;
  }
  if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
    showNotice(t.refused(event.code, event.reason || ""));
    return false;
  }
  return !state.chat.closedBy;
}

// -- incoming frames ---------------------------------------------------------------------------

const handlers = {
  ready: onReady,
  message: onMessage,
  ack: onAck,
  queue: (frame) => {
    Object.assign(state.chat, { status: "queued", inLine: true });
    showQueue(frame.position);
    updateLeaveOffer();
  },
  assigned: (frame) => showAgent(frame.agent),
  typing: showTyping,
  // The agent closed: the customer may still answer until the chat closes (S-customer-ends).
  closing: () => setBanner(t.closing, "closing"),
  reopened: () => { if (state.chat.agent) showAgent(state.chat.agent); },
  closed: onClosed,
  read: onRead,
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
    log.clear();
  }
  const chat = state.chat;
  if (!chat.token) chat.playerId = state.player?.id ?? null;
  chat.chatId = frame.chat_id;
  chat.token = frame.resume_token;
  chat.status = frame.status;
  chat.inLine = frame.status === "queued" && frame.in_line !== false;
  ui.chat.dataset.chatId = String(frame.chat_id);
  setConnection("ready");
  ui.complain.hidden = false;
  showIncidents(frame.incidents || []);
  // `queue` and `assigned` are never replayed: ready says where the chat stands now.
  // A chat joins the line at its first message (KEFU_ROUTE_ON=message): invite the question.
  if (frame.status === "queued" && frame.in_line === false) showInvite(frame.position);
  else if (frame.status === "queued" && frame.position) showQueue(frame.position);
  if (frame.status === "assigned" && frame.agent) showAgent(frame.agent);
  // Read receipts are not replayed as frames: ready says how far each side has read.
  if (frame.read) {
    chat.agentRead = Math.max(chat.agentRead || 0, frame.read.agent);
    chat.readSent = Math.max(chat.readSent || 0, frame.read.customer);
    log.markRead();
  }
  updateLeaveOffer();
  saveChat();
  // The server is idempotent on client_id: a message stored before the drop is only acked again.
  for (const pending of chat.pending.values()) {
    // An upload cut short by a reload cannot be finished (the file is gone with the page).
    if (pending.uploading) {
      chat.pending.delete(pending.client_id);
      log.pendingElement(pending.client_id)?.remove();
      continue;
    }
    send(messageFrame(pending));
  }
  scheduleRead();
}

function onRead(frame) {
  if (frame.by !== "agent") return;
  state.chat.agentRead = Math.max(state.chat.agentRead || 0, frame.seq);
  log.markRead();
  saveChat();
}

// Tell the agent how far the customer has read, once the chat is on screen.
function scheduleRead() {
  clearTimeout(state.readTimer);
  state.readTimer = setTimeout(sendRead, READ_AFTER_MS);
}

function sendRead() {
  const chat = state.chat;
  if (!socket.ready || !state.visible || document.hidden || !chat.lastSeq) return;
  if (chat.lastSeq <= (chat.readSent || 0)) return;
  if (send({ type: "read", seq: chat.lastSeq })) {
    chat.readSent = chat.lastSeq;
    saveChat();
  }
}

function onMessage(frame) {
  const chat = state.chat;
  const known = chat.messages.has(frame.seq) && !chat.messages.get(frame.seq).local;
  chat.messages.set(frame.seq, frame);
  chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
  if (frame.sender === "customer" && chat.pending.delete(frame.client_id)) {
    log.pendingElement(frame.client_id)?.remove();
  }
  if (frame.sender === "agent") {
    hideTyping();
    if (frame.agent) showAgent(frame.agent);
  }
  log.render(frame);
  if (frame.template === "survey") showRating();
  if (frame.template === "nobody_online" && chat.status !== "assigned" && !chat.closedBy) {
    chat.nobodyOnline = true;
    // Offered, not forced: focus stays where the customer is (the notice is read out).
    if (!known) showLeaveForm({ focus: false });
  }
  if (frame.template === "complaint_ack") hideSheet(ui.complaint);
  if (!known && frame.sender !== "customer") {
    announce(frame);
    scheduleRead();
  }
  updateLeaveOffer();
  saveChat();
}

function onAck(frame) {
  const pending = state.chat.pending.get(frame.client_id);
  if (!pending) return;
  state.chat.pending.delete(frame.client_id);
  log.pendingElement(frame.client_id)?.remove();
  // The echo of our own message may still be on its way (it can overtake the ack or follow it).
  if (!state.chat.messages.has(frame.seq)) {
    const local = { seq: frame.seq, sender: "customer", text: pending.text, at: pending.at,
                    attachments: pending.cards, local: true };
    state.chat.messages.set(frame.seq, local);
    log.render(local);
  }
  saveChat();
}

function onClosed(frame) {
  state.chat.closedBy = frame.by;
  state.chat.status = "closed";
  for (const clientId of state.chat.pending.keys()) log.markFailed(clientId, t.chatEnded);
  state.chat.pending.clear();
  saveChat();
  hideTyping();
  hideSheet(ui.leave);
  setBanner("", null);
  updateLeaveOffer();
  showEnded(t.ended);
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
    log.markFailed(frame.ref, frame.message);
    saveChat();
  }
  showNotice(frame.message);
}

// -- outgoing actions --------------------------------------------------------------------------

function newClientId() {
  // crypto.randomUUID needs a secure context; a LAN address over http is not one.
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `w-${Date.now().toString(36)}-${hex}`;
}

function messageFrame(pending) {
  const frame = { type: "message", client_id: pending.client_id, text: pending.text };
  if (pending.cards?.length) frame.attachments = pending.cards.map((card) => card.id);
  return frame;
}

// A picture or a PDF: shown at once from the file itself, uploaded, then sent as a message.
async function sendFile(file) {
  if (!state.chat.token || state.chat.closedBy) return;
  const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : null;
  const pending = {
    client_id: newClientId(), text: "", at: new Date().toISOString(), uploading: true,
    cards: [{ id: null, content_type: file.type || "application/octet-stream", name: file.name || "image",
              size: file.size }],
    preview,
  };
  state.chat.pending.set(pending.client_id, pending);
  log.pending(pending);
  try {
    const card = await files.upload(state.chat.chatId, file);
    Object.assign(pending, { uploading: false, cards: [card] });
    delete pending.preview; // a blob: URL does not outlive the page
    saveChat();
    log.pendingElement(pending.client_id)?.querySelector(".msg-state")
      ?.replaceChildren(t.sending);
    if (socket.ready) send(messageFrame(pending));
  } catch (error) {
    state.chat.pending.delete(pending.client_id);
    log.markFailed(pending.client_id, t.uploadFailed(error.code));
  }
}

function onPaste(event) {
  const images = imagesIn(event.clipboardData?.items);
  if (!images.length) return;
  event.preventDefault();
  for (const image of images) sendFile(image);
}

function onFilePicked() {
  for (const file of ui.file.files) sendFile(file);
  ui.file.value = "";
}

function sendMessage(text) {
  const pending = { client_id: newClientId(), text, at: new Date().toISOString() };
  state.chat.pending.set(pending.client_id, pending);
  saveChat();
  log.pending(pending);
  if (socket.ready) send(messageFrame(pending));
}

function sendTyping() {
  const now = Date.now();
  if (!socket.ready || state.chat.closedBy || now - state.typingSentAt < TYPING_SEND_EVERY_MS) return;
  state.typingSentAt = now;
  send({ type: "typing" });
}

function endChat() {
  // Two clicks, so a stray tap does not end the chat.
  if (!state.endArmedTimer) {
    ui.endChat.textContent = t.endConfirm;
    state.endArmedTimer = setTimeout(disarmEnd, 3000);
    return;
  }
  disarmEnd();
  send({ type: "close" });
}

function disarmEnd() {
  clearTimeout(state.endArmedTimer);
  state.endArmedTimer = null;
  ui.endChat.textContent = t.end;
}

function startNewChat() {
  socket.stop("new chat");
  forgetChat();
  log.clear();
  ui.ended.hidden = true;
  ui.rating.hidden = true;
  hideSheet(ui.leave);
  hideSheet(ui.complaint);
  state.score = null;
  setBanner("", null);
  setComposerEnabled(true);
  socket.retries = 0;
  began = true;
  socket.connect();
  ui.input.focus();
}

function submitLeave(event) {
  event.preventDefault();
  const contact = ui.leaveContact.value.trim();
  const text = ui.leaveText.value.trim();
  if (!contact || !text) return;
  if (send({ type: "leave_message", contact, text })) ui.leaveText.value = "";
}

function submitComplaint(event) {
  event.preventDefault();
  const text = ui.complaintText.value.trim();
  if (!text) return;
  if (send({ type: "complain", topic: ui.complaintTopic.value, text })) {
    ui.complaintText.value = "";
  }
}

function submitRating(event) {
  event.preventDefault();
  if (state.score === null) return;
  const frame = { type: "rate", score: state.score };
  const comment = ui.ratingComment.value.trim();
  if (comment) frame.comment = comment;
  send(frame);
}

// -- rendering ---------------------------------------------------------------------------------

function senderLabel(message) {
  if (message.sender === "agent") return message.agent ? t.agentLabel(message.agent) : t.agentFallback;
  if (message.sender === "system") return t.system;
  return t.me;
}

function announce(message) {
  // The live region reads new lines once; the log itself is not re-read on every render.
  ui.announce.textContent = `${senderLabel(message)}: ${message.text || t.sentFile}`;
  if (!state.visible) {
    state.unread += 1;
    toHost({ type: "unread", count: state.unread });
  }
}

function setConnection(name) {
  ui.chat.dataset.state = name;
  ui.connection.textContent = t[name];
}

// Surge mode: the open incidents' public text, as ready says at each (re)connect.
function showIncidents(incidents) {
  ui.incident.replaceChildren(...incidents.map((incident) => {
    const line = document.createElement("p");
    const eta = new Date(incident.eta).toLocaleString(config.locale, {
      month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
    });
    line.textContent = t.incident(incident.title, incident.text, eta);
    return line;
  }));
  ui.incident.hidden = incidents.length === 0;
}

function setBanner(text, kind) {
  ui.banner.textContent = text;
  ui.banner.dataset.kind = kind || "";
  ui.banner.hidden = !text;
}

function showQueue(position) {
  setBanner(t.queue(position), "queue");
}

function showInvite(position) {
  setBanner(t.invite(position), "queue");
}

function showAgent(agent) {
  state.chat.status = "assigned";
  state.chat.agent = agent;
  state.chat.nobodyOnline = false;
  hideSheet(ui.leave);
  updateLeaveOffer();
  if (!state.chat.closedBy) setBanner(t.agentBanner(agent), "agent");
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

function showEnded(text) {
  ui.endedText.textContent = text;
  ui.ended.hidden = false;
  ui.chat.dataset.closed = "true";
  setComposerEnabled(false);
}

function showSheet(sheet, { focus = true } = {}) {
  for (const other of [ui.leave, ui.complaint]) if (other !== sheet) other.hidden = true;
  sheet.hidden = false;
  if (focus) sheet.querySelector("input, select, textarea")?.focus();
}

function hideSheet(sheet) {
  const hadFocus = sheet.contains(document.activeElement);
  sheet.hidden = true;
  if (hadFocus && !ui.input.disabled) ui.input.focus();
}

// S-callback-24h: a queued customer may leave a message instead of waiting.
function showLeaveForm({ focus = true } = {}) {
  showSheet(ui.leave, { focus });
  updateLeaveOffer();
}

function updateLeaveOffer() {
  const chat = state.chat;
  const waiting = chat.status === "queued" && (chat.inLine || chat.nobodyOnline);
  ui.leaveOffer.hidden = !(waiting && !chat.closedBy && ui.leave.hidden);
  ui.leave.querySelector(".sheet-hint").hidden = !chat.nobodyOnline;
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
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => pickScore(score));
      ui.scores.append(button);
    }
  }
  const done = rated !== null;
  ui.scores.hidden = done;
  ui.scale.hidden = done;
  ui.ratingMore.hidden = done || state.score === null;
  ui.ratingPrompt.textContent = done ? t.rated(rated) : t.ratePrompt;
  ui.rating.hidden = false;
}

function pickScore(score) {
  state.score = score;
  for (const button of ui.scores.children) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.score) === score));
  }
  showRating();
}

function setComposerEnabled(enabled) {
  ui.input.disabled = !enabled;
  ui.attach.disabled = !enabled;
  ui.composer.querySelector("button[type=submit]").disabled = !enabled;
  ui.endChat.hidden = !enabled;
  if (enabled) delete ui.chat.dataset.closed;
}

function translate() {
  document.documentElement.lang = config.locale;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t[el.dataset.i18n];
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t[el.dataset.i18nLabel]);
    el.title = t[el.dataset.i18nLabel];
  }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t[el.dataset.i18nPlaceholder];
  }
  if (config.title) ui.title.textContent = config.title;
  document.title = ui.title.textContent;
  if (config.colour) document.documentElement.style.setProperty("--brand", config.colour);
  for (const topic of TOPICS) ui.complaintTopic.append(new Option(t.topics[topic], topic));
  ui.complaintTopic.value = "other";
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

function onEscape(event) {
  if (event.key !== "Escape") return;
  const sheet = [ui.leave, ui.complaint].find((s) => !s.hidden);
  if (sheet) hideSheet(sheet);
  else if (config.embed) toHost({ type: "close" });
  updateLeaveOffer();
}

function start() {
  translate();
  const ordered = [...state.chat.messages.values()].sort((a, b) => a.seq - b.seq);
  for (const message of ordered) log.render(message);
  for (const pending of state.chat.pending.values()) log.pending(pending);
  if (state.chat.agent && !state.chat.closedBy) showAgent(state.chat.agent);
  if (ordered.some((message) => message.template === "survey")) showRating();
  ui.composer.addEventListener("submit", submit);
  ui.input.addEventListener("keydown", onKeyDown);
  ui.input.addEventListener("input", () => { autoGrow(); sendTyping(); });
  ui.input.addEventListener("paste", onPaste);
  ui.attach.addEventListener("click", () => ui.file.click());
  ui.file.addEventListener("change", onFilePicked);
  document.addEventListener("visibilitychange", scheduleRead);
  ui.endChat.addEventListener("click", endChat);
  ui.newChat.addEventListener("click", startNewChat);
  ui.complain.addEventListener("click", () => showSheet(ui.complaint));
  ui.complaint.addEventListener("submit", submitComplaint);
  ui.complaintCancel.addEventListener("click", () => hideSheet(ui.complaint));
  ui.leaveOffer.addEventListener("click", () => showLeaveForm());
  ui.leave.addEventListener("submit", submitLeave);
  ui.leaveCancel.addEventListener("click", () => { hideSheet(ui.leave); updateLeaveOffer(); });
  ui.rating.addEventListener("submit", submitRating);
  document.addEventListener("keydown", onEscape);
  setComposerEnabled(true);
  if (!config.embed) {
    begin();
    return;
  }
  document.body.classList.add("is-embedded");
  ui.minimise.hidden = false;
  ui.minimise.addEventListener("click", () => toHost({ type: "close" }));
  window.addEventListener("message", onHostMessage);
  toHost({ type: "listening" });
  setTimeout(begin, HOST_WAIT_MS);
}

start();
