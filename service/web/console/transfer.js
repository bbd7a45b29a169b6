// Handing a chat on (S-no-blind-transfer): to an agent by id or to a group by name, always with
// a handoff note for whoever takes it. A refusal is shown in the form and changes nothing.

import { errorText } from "./words.js";

export class Transfer {
  // ui: {open, form, to, note, cancel, error}; chatId() names the chat being handed on.
  constructor(ui, send, chatId) {
    Object.assign(this, { ui, send, chatId });
    ui.open.addEventListener("click", () => this.toggle());
    ui.form.addEventListener("submit", (event) => this.submit(event));
    ui.cancel.addEventListener("click", () => { this.close(); ui.open.focus(); });
  }

  get isOpen() {
    return !this.ui.form.hidden;
  }

  toggle() {
    if (this.isOpen || this.chatId() === null) {
      this.close();
      return;
    }
    this.ui.form.hidden = false;
    this.ui.open.setAttribute("aria-expanded", "true");
    this.ui.error.hidden = true;
    this.ui.to.focus();
  }

  close() {
    this.ui.form.hidden = true;
    this.ui.open.setAttribute("aria-expanded", "false");
  }

  submit(event) {
    event.preventDefault();
    const chatId = this.chatId();
    const to = this.ui.to.value.trim();
    const note = this.ui.note.value.trim();
    if (chatId === null || !to || !note) return;
    this.ui.error.hidden = true;
    // An agent's id is a number; anything else names a group.
    const target = /^[0-9]+$/.test(to) ? { to_agent: Number(to) } : { to_group: to };
    this.send({ type: "transfer", chat_id: chatId, ...target, note });
  }

  // True when the form showed the refusal (a refusal with the form closed is the page's).
  refused(frame) {
    if (!this.isOpen) return false;
    this.ui.error.textContent = errorText(frame);
    this.ui.error.hidden = false;
    return true;
  }

  done() {
    this.close();
    this.ui.note.value = "";
    this.ui.to.value = "";
  }
}
