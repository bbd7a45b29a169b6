// Live alerts: what needs a supervisor now, worked out at every refresh (every few seconds)
// from what the board reads anyway: urgent complaints (S-classes: batch, repeat, VIP, ...),
// overdue complaints, promises and callbacks (S-complaint-48h, S-callback-24h), chats waiting
// past S-max-wait, and nobody on duty (S-no-unattended). docs/design.md says why polling.
//
// A new urgent alert (an urgent complaint, an unattended desk) chimes, marks the title bar
// until the supervisor says they saw it, and (opt-in) shows a desktop notification while the
// dashboard is in the background. The first refresh after sign-in only learns what is there.

import { DesktopNotices, chime } from "/common/notify.js";
import { REASONS, TOPICS, el, seconds, when, who } from "./api.js";

const BASE_TITLE = document.title;
// Urgent rows nobody has taken up yet; acknowledged ones are being worked.
const UNTAKEN = new Set(["open", "escalated"]);
const KINDS = { callback: "回电", follow_up: "答复" };

export function alertsOf({ desk, queue, queued, agents, complaints, promises, callbacks, maxWait, now }) {
  const names = new Map(agents.map((a) => [a.id, `${a.name}(${a.employee_no})`]));
  const alerts = [];
  const add = (key, level, tag, text, open = null) => alerts.push({ key, level, tag, text, open });
  if (desk.unattended) {
    add("unattended", "urgent", "无人值守",
        `服务时间内没有坐席接待,${desk.queued_chats} 个会话在排队 Nobody on duty`);
  }
  for (const row of complaints) {
    const reasons = row.reasons.map((r) => REASONS[r] || r).join("、");
    const what = `投诉 #${row.id} · ${TOPICS[row.topic] || row.topic} · ${who(row.customer)}:${row.summary}`;
    if (row.class === "urgent" && UNTAKEN.has(row.status)) {
      add(`complaint:${row.id}`, "urgent", `紧急 ${reasons}`, `${what}${row.overdue ? "(已超时)" : ""}`,
          { complaint: row.id });
    } else if (row.overdue) {
      add(`overdue:${row.id}`, "warn", "投诉超时", what, { complaint: row.id });
    }
  }
  for (const promise of promises) {
    const agent = promise.agent ? `${promise.agent.name}(${promise.agent.employee_no})` : "";
    add(`promise:${promise.id}`, "warn", "约定超时",
        `${KINDS[promise.kind] || promise.kind} · ${who(promise.customer)} · ${agent} 应于 ${when(promise.due_at)}`,
        { chat: promise.chat_id });
  }
  for (const callback of callbacks) {
    add(`callback:${callback.id}`, "warn", "留言超时",
        `${who(callback.customer)} 的留言应于 ${when(callback.due_at)} 回电`, { chat: callback.chat_id });
  }
  for (const chat of queued) {
    const wait = chat.queued_since ? (now - new Date(chat.queued_since)) / 1000 : 0;
    if (wait >= maxWait) {
      add(`wait:${chat.id}`, "warn", "排队过久",
          `会话 #${chat.id} · ${who(chat.customer)} 已排队 ${seconds(wait)}(超过 ${maxWait} 秒)`, { chat: chat.id });
    }
  }
  for (const line of queue.agents) {
    if (line.longest_reply_wait_s >= maxWait) {
      add(`reply:${line.agent_id}`, "warn", "回复过慢",
          `${names.get(line.agent_id) || `坐席 #${line.agent_id}`} 的 ${line.waiting_for_reply} 位顾客在等回复,最久 ${seconds(line.longest_reply_wait_s)}`);
    }
  }
  // Urgent first, then in the order found.
  return alerts.sort((a, b) => (a.level === b.level ? 0 : a.level === "urgent" ? -1 : 1));
}

export class AlertPanel {
  // ui: the page's elements by id; open({complaint} | {chat}) shows what an alert is about.
  constructor(ui, open) {
    Object.assign(this, { ui, open, known: null, unseen: new Set() });
    this.notices = new DesktopNotices("kefu.dashboard.notify");
    ui.alertsSeen.addEventListener("click", () => this.seen());
    ui.notify.addEventListener("click", async () => {
      await this.notices.toggle();
      this.paintNotify();
    });
    this.paintNotify();
  }

  paintNotify() {
    const on = this.notices.wanted;
    this.ui.notify.setAttribute("aria-pressed", String(on));
    this.ui.notify.textContent = on ? "桌面通知:开" : "桌面通知";
  }

  update(alerts) {
    const fresh = this.known === null ? [] : alerts.filter((a) => !this.known.has(a.key));
    this.known = new Set(alerts.map((a) => a.key));
    const urgent = fresh.filter((a) => a.level === "urgent");
    for (const alert of urgent) this.unseen.add(alert.key);
    // Gone (taken up, answered) is seen too.
    for (const key of this.unseen) if (!this.known.has(key)) this.unseen.delete(key);
    if (urgent.length) {
      chime();
      const [first] = urgent;
      this.notices.show(`紧急告警 · 主管看板`, `${first.tag}:${first.text}`, "kefu-dashboard-alert");
    }
    this.render(alerts, new Set(fresh.map((a) => a.key)));
  }

  render(alerts, fresh) {
    const ui = this.ui;
    ui.alertList.replaceChildren(...alerts.map((alert) => {
      const item = el(
        "li",
        { className: `alert is-${alert.level}${fresh.has(alert.key) ? " is-new" : ""}${this.unseen.has(alert.key) ? " is-unseen" : ""}`,
          dataset: { key: alert.key } },
        el("span", { className: `tag ${alert.level === "urgent" ? "tag-urgent" : "tag-warn"}` }, alert.tag),
        " ", el("span", { className: "alert-text" }, alert.text),
      );
      if (alert.open) {
        const button = el("button", { type: "button", className: "link" }, "查看 Open");
        button.addEventListener("click", () => {
          this.unseen.delete(alert.key);
          this.paintTitle();
          this.open(alert.open);
        });
        item.append(" ", button);
      }
      return item;
    }));
    ui.alertsEmpty.hidden = alerts.length > 0;
    ui.alertCount.textContent = alerts.length ? `${alerts.length}` : "";
    ui.alerts.dataset.count = String(alerts.length);
    this.paintTitle();
  }

  paintTitle() {
    const n = this.unseen.size;
    document.title = n ? `【紧急 ${n}】${BASE_TITLE}` : BASE_TITLE;
    this.ui.alertsSeen.hidden = n === 0;
    this.ui.alerts.dataset.unseen = String(n);
  }

  seen() {
    this.unseen.clear();
    for (const item of this.ui.alertList.children) item.classList.remove("is-unseen");
    this.paintTitle();
  }

  reset() {
    this.known = null;
    this.unseen.clear();
    this.paintTitle();
  }
}
