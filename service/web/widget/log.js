// The transcript as the customer sees it: stored lines in seq order (a resend or a replay of a
// seq replaces its line, so nothing shows twice), the customer's unsent lines below them.

export class Log {
  // label(message): who wrote it; t: the locale's words (sending, notSent, delivered, read);
  // locale: for times; files: the attachments' links (common/files.js); chatId(): the chat;
  // readUpTo(): the highest seq the agent has read (the customer's ✓✓).
  constructor(element, { label, t, locale, files, chatId, readUpTo }) {
    Object.assign(this, { element, label, t, locale, files, chatId, readUpTo });
  }

  clear() {
    this.element.replaceChildren();
  }

  line(message) {
    const item = document.createElement("li");
    item.className = `msg msg-${message.sender}`;
    if (message.template) item.classList.add("msg-template", `msg-template-${message.template}`);
    if (message.kind) item.classList.add(`msg-kind-${message.kind}`);
    const meta = document.createElement("div");
    meta.className = "msg-meta";
    const who = document.createElement("span");
    who.className = "msg-who";
    who.textContent = this.label(message);
    const time = document.createElement("time");
    time.dateTime = message.at || "";
    time.textContent = this.time(message.at);
    meta.append(who, time);
    const bubble = document.createElement("div");
    bubble.className = "msg-text";
    bubble.textContent = message.text;
    item.append(meta, bubble);
    if (message.attachments?.length) {
      item.append(this.files.elements(this.chatId(), message.attachments, { preview: message.preview }));
    }
    return item;
  }

  // The customer's stored lines: ✓ once stored (acked), ✓✓ once the agent has read them.
  tick(item, message) {
    if (message.sender !== "customer" || !message.seq) return;
    const read = message.seq <= this.readUpTo();
    let mark = item.querySelector(".msg-tick");
    if (!mark) {
      mark = document.createElement("span");
      mark.className = "msg-tick";
      item.querySelector(".msg-meta").append(mark);
    }
    mark.textContent = read ? "✓✓" : "✓";
    mark.title = read ? this.t.read : this.t.delivered;
    mark.setAttribute("aria-label", mark.title);
    item.classList.toggle("is-read", read);
  }

  markRead() {
    for (const item of this.element.querySelectorAll(".msg-customer[data-seq]")) {
      this.tick(item, { sender: "customer", seq: Number(item.dataset.seq) });
    }
  }

  time(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleTimeString(this.locale, { hour: "2-digit", minute: "2-digit" });
  }

  render(message) {
    const element = this.line(message);
    element.dataset.seq = String(message.seq);
    this.tick(element, message);
    const existing = this.element.querySelector(`[data-seq="${message.seq}"]`);
    if (existing) existing.replaceWith(element);
    else this.element.insertBefore(element, this.firstAfter(message.seq));
    // S-correction: the right line is shown in place of the wrong one.
    if (message.corrects) {
      this.element.querySelector(`[data-seq="${message.corrects}"]`)?.classList.add("is-corrected");
    }
    this.scrollToEnd();
  }

  firstAfter(seq) {
    for (const child of this.element.children) {
      if (child.dataset.seq === undefined || Number(child.dataset.seq) > seq) return child;
    }
    return null;
  }

  pending(pending) {
    const element = this.line({ sender: "customer", text: pending.text, at: pending.at,
                                attachments: pending.cards, preview: pending.preview });
    element.classList.add("is-pending");
    element.dataset.clientId = pending.client_id;
    const status = document.createElement("div");
    status.className = "msg-state";
    status.textContent = pending.uploading ? this.t.uploading : this.t.sending;
    element.append(status);
    this.element.append(element);
    this.scrollToEnd();
  }

  pendingElement(clientId) {
    return [...this.element.querySelectorAll(".is-pending")]
      .find((el) => el.dataset.clientId === clientId);
  }

  markFailed(clientId, reason) {
    const element = this.pendingElement(clientId);
    if (!element) return;
    element.classList.replace("is-pending", "is-failed");
    element.querySelector(".msg-state").textContent = this.t.notSent(reason);
  }

  scrollToEnd() {
    this.element.scrollTop = this.element.scrollHeight;
  }
}
