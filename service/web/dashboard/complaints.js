// The complaint table (S-record): urgent first, overdue highlighted; a row opens its drawer with
// the history, the status moves the workflow allows, the owner, a comment and the follow-up.

import { ownerItems } from "/common/owners.js";
import { REASONS, STATUS, TOPICS, el, when } from "./api.js";

// Rows still being worked; closed and dismissed ones are in the admin API and its CSV.
const WORKED = ["draft", "open", "acknowledged", "escalated", "resolved", "followed_up"];
const QUERY = `?${WORKED.map((s) => `status=${s}`).join("&")}&sort=-urgent&limit=200`;

const ACTIONS = {
  recorded: "登记", status: "状态", owner: "负责人", reason_added: "加紧急原因",
  reason_removed: "去紧急原因", topic: "主题", source: "来源", summary: "摘要", facts: "事实",
  comment: "备注", follow_up: "回访", overdue: "超时",
};

function value(action, v) {
  if (v === null || v === undefined) return "–";
  if (action === "status" || action === "recorded") return STATUS[v] || v;
  if (action === "topic") return TOPICS[v] || v;
  if (action === "reason_added" || action === "reason_removed") return REASONS[v] || v;
  return v;
}

function rank(row) {
  return [row.class === "urgent" ? 0 : 1, row.overdue ? 0 : 1, row.due_at || "9999", row.id];
}

function byRank(a, b) {
  const [x, y] = [rank(a), rank(b)];
  for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

export class ComplaintDesk {
  // ui: the elements of index.html by id; api: Api; showChat(chatId)
  constructor(ui, api, showChat) {
    Object.assign(this, { ui, api, showChat, workflow: null, agents: [], current: null });
    ui.complaintClose.addEventListener("click", () => this.close());
    ui.complaintChat.addEventListener("click", () => this.current && showChat(this.current.chat_id));
    ui.complaintForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save({});
    });
    ui.followUp.addEventListener("submit", (event) => this.followUp(event));
  }

  async load(agents) {
    this.agents = agents;
    this.workflow ??= await this.api.get("/complaints/workflow");
    const page = await this.api.get(`/complaints${QUERY}`);
    const rows = page.items.sort(byRank);
    this.render(rows, page.total);
    return rows;
  }

  render(rows, total) {
    const body = this.ui.complaints.tBodies[0];
    body.replaceChildren(...rows.map((row) => this.row(row)));
    this.ui.complaintsEmpty.hidden = rows.length > 0;
    const overdue = rows.filter((row) => row.overdue).length;
    this.ui.complaintCount.textContent = total ? `${total} 件${overdue ? ` · ${overdue} 件超时` : ""}` : "";
  }

  row(row) {
    const urgent = row.class === "urgent";
    const reasons = row.reasons.map((r) => REASONS[r] || r).join("、");
    const tr = el(
      "tr",
      { className: `complaint${urgent ? " is-urgent" : ""}${row.overdue ? " is-overdue" : ""}`, tabindex: "0",
        dataset: { complaintId: String(row.id) } },
      el("td", {}, `#${row.id}`),
      el("td", {}, el("span", { className: `tag ${urgent ? "tag-urgent" : ""}` }, urgent ? "紧急" : "普通"),
         reasons ? el("small", {}, ` ${reasons}`) : null),
      el("td", {}, STATUS[row.status] || row.status),
      el("td", {}, TOPICS[row.topic] || row.topic),
      el("td", { className: "summary" }, row.summary),
      el("td", {}, row.overdue ? el("span", { className: "tag tag-overdue" }, "已超时 overdue") : when(row.due_at)),
    );
    const open = () => this.open(row.id);
    tr.addEventListener("click", open);
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open();
      }
    });
    return tr;
  }

  async open(id) {
    this.ui.complaintError.hidden = true;
    this.show(await this.api.get(`/complaints/${id}`));
    this.ui.complaint.hidden = false;
    this.ui.complaintClose.focus();
  }

  close() {
    this.ui.complaint.hidden = true;
    this.current = null;
  }

  show(detail) {
    this.current = detail;
    const ui = this.ui;
    ui.complaint.dataset.complaintId = String(detail.id);
    ui.complaint.dataset.status = detail.status;
    ui.complaintTitle.textContent = `投诉 #${detail.id} · ${TOPICS[detail.topic] || detail.topic}`;
    const customer = detail.customer?.name || detail.customer?.player_id || "访客";
    ui.complaintSub.textContent =
      `${detail.summary} — ${customer},会话 #${detail.chat_id},${STATUS[detail.status]},期限 ${when(detail.due_at)}`;
    ui.complaintOwner.replaceChildren(
      new Option("(无 none)", ""),
      ...this.agents.filter((a) => a.active).map((a) => new Option(`${a.name}(${a.employee_no})`, String(a.id))),
    );
    ui.complaintOwner.value = detail.owner_id ? String(detail.owner_id) : "";
    const moves = (this.workflow.moves[detail.status] || []).filter((to) => to !== "followed_up");
    ui.complaintMoves.replaceChildren(...moves.map((to) => {
      const button = el("button", { type: "button", className: "move", dataset: { to } }, `→ ${STATUS[to] || to}`);
      button.addEventListener("click", () => this.save({ status: to }));
      return button;
    }));
    ui.followUp.hidden = detail.status !== "resolved";
    // S-first-responder: the complaint's holders, from its history.
    ui.complaintOwners.replaceChildren(...ownerItems(detail.owners || []));
    ui.complaintChain.hidden = !detail.owners?.length;
    ui.complaintHistory.replaceChildren(...detail.history.map((line) => el(
      "li", {},
      el("time", {}, when(line.at)), " ",
      el("strong", {}, line.actor), " ",
      `${ACTIONS[line.action] || line.action}`,
      line.from || line.to ? `:${value(line.action, line.from)} → ${value(line.action, line.to)}` : "",
      line.comment ? el("q", {}, line.comment) : null,
    )));
  }

  async save(change) {
    const body = { ...change };
    const owner = this.ui.complaintOwner.value ? Number(this.ui.complaintOwner.value) : null;
    if (owner !== (this.current.owner_id ?? null)) body.owner_id = owner;
    const comment = this.ui.complaintComment.value.trim();
    if (comment) body.comment = comment;
    if (!Object.keys(body).length) return;
    await this.send(`/complaints/${this.current.id}`, "PATCH", body);
  }

  async followUp(event) {
    event.preventDefault();
    const note = this.ui.followUpNote.value.trim();
    if (!note) return;
    await this.send(`/complaints/${this.current.id}/follow-up`, "POST",
                    { result: this.ui.followUpResult.value, note });
  }

  async send(path, method, body) {
    try {
      this.show(await this.api.call(method, path, body));
      this.ui.complaintError.hidden = true;
      this.ui.complaintComment.value = "";
      this.ui.followUpNote.value = "";
      await this.load(this.agents);
    } catch (error) {
      // A refused move says why (owner_required, follow_up_required, invalid_state).
      this.ui.complaintError.textContent = `${refusal(error.code)}${error.message}`;
      this.ui.complaintError.hidden = false;
    }
  }
}

function refusal(code) {
  return {
    owner_required: "紧急投诉须先指定负责人。 ",
    follow_up_required: "须先记录回访。 ",
    invalid_state: "不能这样流转。 ",
  }[code] || "";
}
