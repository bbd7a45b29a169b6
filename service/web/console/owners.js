// The selected chat's chain of owners (S-first-responder): read from the admin API with the
// agent's own token (an agent reads the chats they hold), shown above the transcript. Read
// again when the chat is picked or (re)assigned; a chat that left us keeps the last chain read,
// its last owner marked with what the console saw happen since (已转交, 已退回队列, 已结束).

import { ownerItems } from "/common/owners.js";

export class OwnerChain {
  // ui: {section, list}; token(): the agent token; selected(): the chat shown now;
  // since(chatId): null while the chat is ours, else what became of it.
  constructor(ui, token, selected, since) {
    Object.assign(this, { ui, token, selected, since });
    this.chains = new Map();
  }

  show(chatId) {
    const spans = this.chains.get(chatId) || [];
    this.ui.list.replaceChildren(...ownerItems(spans, this.since(chatId)));
    this.ui.section.hidden = spans.length === 0;
    this.ui.section.dataset.chatId = String(chatId);
    this.ui.section.dataset.owners = String(spans.length);
  }

  async load(chatId) {
    this.show(chatId);
    try {
      const response = await fetch(`/api/v1/chats/${chatId}`, {
        headers: { Authorization: `Bearer ${this.token()}`, Accept: "application/json" },
      });
      if (!response.ok) return; // no longer ours (404): the chain read before stays
      const chat = await response.json();
      this.chains.set(chatId, chat.owners || []);
    } catch {
      return; // offline: shown again at the next pick
    }
    if (this.selected() === chatId) this.show(chatId);
  }
}
