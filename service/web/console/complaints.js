// Complaints from the console (S-record): the form with the facts the standard keeps, and the
// keyword drafts the server opens, to confirm as a complaint or dismiss in one click.

const TOPICS = { recharge: "充值", account: "账号", gameplay: "游戏玩法", technical: "技术问题",
                 service: "客服服务", other: "其他" };
const FACTS = ["amount", "date", "time", "order"];

export class Complaints {
  // ui: {open, form, topic, summary, cancel, drafts, amount, date, time, order}
  constructor(ui, send, tell) {
    Object.assign(this, { ui, send, tell });
    this.drafts = new Map(); // complaint id -> the draft row
    this.chatId = null;
    for (const [key, name] of Object.entries(TOPICS)) ui.topic.append(new Option(name, key));
    ui.form.addEventListener("submit", (event) => this.submit(event));
    ui.cancel.addEventListener("click", () => this.close());
  }

  onFrame(frame) {
    const row = frame.complaint;
    if (!row) return; // batch alerts are for supervisors
    if (frame.event === "draft") this.drafts.set(row.id, row);
    else this.drafts.delete(row.id);
    if (frame.event === "recorded") {
      const urgent = row.class === "urgent" ? "(紧急)" : "";
      this.tell(`投诉已登记 #${row.id}${urgent},${TOPICS[row.topic] || row.topic}:${row.summary}`);
    }
    this.render(this.chatId);
  }

  render(chatId, open = true) {
    this.chatId = chatId;
    const rows = [...this.drafts.values()].filter((row) => row.chat_id === chatId);
    const items = rows.map((row) => {
      const item = document.createElement("div");
      item.className = "draft";
      item.dataset.complaintId = String(row.id);
      const text = document.createElement("span");
      const keyword = row.facts?.keyword ? `“${row.facts.keyword}”` : "关键词";
      text.textContent = `顾客消息含${keyword},已生成投诉草稿`;
      const confirm = document.createElement("button");
      confirm.type = "button";
      confirm.className = "draft-confirm";
      confirm.textContent = "确认为投诉…";
      confirm.addEventListener("click", () => this.open(row));
      const dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "draft-dismiss";
      dismiss.textContent = "不是投诉";
      dismiss.addEventListener("click", () => this.send({ type: "dismiss_complaint", complaint_id: row.id }));
      item.append(text, confirm, dismiss);
      return item;
    });
    this.ui.drafts.replaceChildren(...items);
    this.ui.drafts.hidden = !open || !items.length;
    if (!open) this.ui.form.hidden = true;
  }

  open(draft = null) {
    this.ui.form.hidden = false;
    this.ui.topic.value = draft?.topic in TOPICS ? draft.topic : "other";
    this.ui.summary.value = draft?.summary || "";
    for (const fact of FACTS) this.ui[fact].value = draft?.facts?.[fact] || "";
    this.ui.open.setAttribute("aria-expanded", "true");
    this.ui.summary.focus();
  }

  close() {
    this.ui.form.hidden = true;
    this.ui.open.setAttribute("aria-expanded", "false");
  }

  toggle() {
    if (this.ui.form.hidden) this.open();
    else this.close();
  }

  submit(event) {
    event.preventDefault();
    const summary = this.ui.summary.value.trim();
    if (!summary || this.chatId === null) return;
    const facts = {};
    for (const fact of FACTS) if (this.ui[fact].value.trim()) facts[fact] = this.ui[fact].value.trim();
    const frame = { type: "complaint", chat_id: this.chatId, topic: this.ui.topic.value, summary };
    if (Object.keys(facts).length) frame.facts = facts;
    if (this.send(frame)) this.close();
  }
}
