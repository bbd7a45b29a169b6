// Any chat's transcript (GET /api/v1/chats/{id}), internal lines marked, attachments linked,
// with its chain of owners above it.

import { ownerItems } from "/common/owners.js";
import { SENDERS, el, when, who } from "./api.js";

const CHAT_STATUS = { queued: "排队中 queued", assigned: "接待中 assigned", closed: "已结束 closed" };
const KINDS = { note: "内部备注 note", handoff: "转接说明 handoff", leave_message: "留言 message left" };

export class Transcript {
  // ui: the elements of index.html by id; api: Api; tell(text) shows a problem
  constructor(ui, api, tell) {
    Object.assign(this, { ui, api, tell });
    ui.transcriptClose.addEventListener("click", () => { ui.transcript.hidden = true; });
  }

  async open(chatId) {
    let chat;
    try {
      chat = await this.api.get(`/chats/${chatId}`);
    } catch (error) {
      this.tell(error.status === 404 ? `没有会话 #${chatId}` : error.message);
      return;
    }
    const ui = this.ui;
    ui.transcript.dataset.chatId = String(chat.id);
    ui.transcriptTitle.textContent = `会话 #${chat.id}`;
    ui.transcriptSub.textContent =
      `${who(chat.customer)} · ${CHAT_STATUS[chat.status] || chat.status} · ${chat.locale} · 开始于 ${when(chat.created_at)}`;
    // S-first-responder: every owner, when they took it and how it left them.
    const owners = chat.owners || [];
    ui.transcriptOwners.replaceChildren(...ownerItems(owners));
    ui.transcriptChain.hidden = owners.length === 0;
    ui.transcriptLines.replaceChildren(...chat.messages.map((line) => this.line(line)));
    ui.transcript.hidden = false;
    ui.transcriptClose.focus();
  }

  line(message) {
    const kind = message.kind ? el("span", { className: "tag" }, KINDS[message.kind] || message.kind) : null;
    const files = (message.attachments || []).map((file) =>
      el("a", { href: file.url, target: "_blank", rel: "noopener" }, `📎 ${file.name}`));
    return el(
      "li",
      { className: `line from-${message.sender}${message.internal ? " is-internal" : ""}` },
      el("div", { className: "line-head" },
         el("strong", {}, SENDERS[message.sender] || message.sender), " ", el("time", {}, when(message.at)), " ", kind),
      el("div", { className: "line-text" }, message.text),
      ...files,
    );
  }
}
