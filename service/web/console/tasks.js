// The task list (待办): the agent's open promises, soonest first (S-callback, S-callback-24h).
// Asked for at sign-in (`promises`) and kept current from `promise` frames: made, reminder
// (due soon), overdue (also sent to supervisors), handed_over (a shift handover), done.

import { PROMISE_NAMES } from "./words.js";

function dueText(iso) {
  const date = new Date(iso);
  return date.toLocaleString("zh-CN", {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

export class Tasks {
  constructor(ui, send, myId) {
    this.ui = ui; // {list, empty, count}
    this.send = send;
    this.myId = myId; // () -> this agent's id
    this.items = new Map();
  }

  onList(frame) {
    this.items = new Map(frame.items.map((item) => [item.id, item]));
    this.render();
  }

  onFrame(frame) {
    const promise = frame.promise;
    const mine = promise.agent.id === this.myId();
    if (promise.state !== "open" || !mine) this.items.delete(promise.id);
    else this.items.set(promise.id, { ...promise, soon: frame.event === "reminder" || this.items.get(promise.id)?.soon });
    this.render();
  }

  keep(id) {
    this.send({ type: "promise_done", promise_id: id });
  }

  render() {
    const items = [...this.items.values()].sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
    this.ui.list.replaceChildren(...items.map((item) => {
      const row = document.createElement("li");
      row.className = "task";
      row.dataset.promiseId = String(item.id);
      row.dataset.state = item.overdue ? "overdue" : item.soon ? "soon" : "open";
      const what = document.createElement("span");
      what.className = "task-what";
      const name = item.customer?.name || item.customer?.player_id || `访客 #${item.customer?.id}`;
      what.textContent = `${PROMISE_NAMES[item.kind] || item.kind} · ${name}`;
      const when = document.createElement("span");
      when.className = "task-due";
      const tag = item.overdue ? "已超时" : item.soon ? "即将到期" : "到期";
      when.textContent = `${tag} ${dueText(item.due_at)} · 会话 #${item.chat_id}`;
      const done = document.createElement("button");
      done.type = "button";
      done.className = "task-done";
      done.textContent = "完成";
      done.addEventListener("click", () => this.keep(item.id));
      row.append(what, when, done);
      return row;
    }));
    this.ui.empty.hidden = items.length > 0;
    this.ui.count.textContent = items.length ? String(items.length) : "";
  }
}
