// The quick-reply menu: the templates `ready` lists, searchable, driven from the keyboard
// ("/" in an empty reply box opens it; arrows, Enter, Escape). A template with variables asks
// for them before it is sent; the server fills the rest (brand, agent name and number).
// The two that promise a time (callback, get_back) ask for it with a time picker and send a
// `promise` frame (S-callback-24h): the server checks the time, and a refusal is shown in the
// picker, which stays open until the promise is acknowledged.

import { PROMISE_KINDS, TEMPLATE_NAMES, VAR_NAMES, templateName } from "./words.js";

const HOUR_MS = 3600 * 1000;

// A datetime-local value ("2026-01-05T18:00") for a moment, in the browser's time zone.
function localValue(ms) {
  const date = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export class QuickReplies {
  constructor(ui, onPick, onPromise, now) {
    this.ui = ui; // {quick, search, list, vars, input}
    this.onPick = onPick;
    this.onPromise = onPromise; // (kind, dueAtIso) -> client_id
    this.now = now; // the server's clock, in ms
    this.awaiting = null; // the client_id of a promise sent from the picker, not yet acked
    this.templates = [];
    this.shown = [];
    this.active = 0;
    ui.search.addEventListener("input", () => { this.active = 0; this.render(); });
    ui.search.addEventListener("keydown", (event) => this.onKey(event));
    ui.vars.addEventListener("submit", (event) => this.submitVars(event));
    ui.vars.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
  }

  setTemplates(templates) {
    // The standard's order: the catalogue's quick replies as the server lists them.
    this.templates = templates.filter((t) => TEMPLATE_NAMES[t.key] || t.key);
  }

  get isOpen() {
    return !this.ui.quick.hidden;
  }

  open() {
    this.ui.quick.hidden = false;
    this.ui.vars.hidden = true;
    this.ui.search.hidden = false;
    this.ui.search.value = "";
    this.active = 0;
    this.render();
    this.ui.search.focus();
  }

  close() {
    this.ui.quick.hidden = true;
    this.awaiting = null;
    this.ui.input.focus();
  }

  // The server acknowledged (closes the picker) or refused (shown in it) the promise sent.
  acked(clientId) {
    if (clientId && clientId === this.awaiting) this.close();
  }

  refused(frame, text) {
    if (!frame.ref || frame.ref !== this.awaiting) return false;
    this.awaiting = null;
    const error = this.ui.vars.querySelector(".quick-error");
    if (error) {
      error.textContent = text;
      error.hidden = false;
    }
    this.ui.vars.querySelector("button[type=submit]")?.removeAttribute("disabled");
    return true;
  }

  render() {
    const query = this.ui.search.value.trim().toLowerCase();
    this.shown = this.templates.filter((t) => !query || t.key.includes(query)
      || templateName(t.key).includes(query) || (t.standard || "").toLowerCase().includes(query));
    this.active = Math.min(this.active, Math.max(0, this.shown.length - 1));
    const items = this.shown.map((template, index) => {
      const item = document.createElement("li");
      item.id = `quick-${template.key}`;
      item.className = "quick-item";
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", String(index === this.active));
      item.dataset.key = template.key;
      const name = document.createElement("span");
      name.textContent = templateName(template.key);
      const key = document.createElement("small");
      key.textContent = template.vars.length ? `${template.key} · 需填写 ${template.vars.map((v) => VAR_NAMES[v] || v).join("、")}` : template.key;
      item.append(name, key);
      item.addEventListener("mousedown", (event) => event.preventDefault());
      item.addEventListener("click", () => this.choose(template));
      return item;
    });
    this.ui.list.replaceChildren(...items);
    const active = this.shown[this.active];
    if (active) this.ui.search.setAttribute("aria-activedescendant", `quick-${active.key}`);
    else this.ui.search.removeAttribute("aria-activedescendant");
  }

  onKey(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      const count = this.shown.length || 1;
      this.active = (this.active + step + count) % count;
      this.render();
      this.ui.list.children[this.active]?.scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      const template = this.shown[this.active];
      if (template) this.choose(template);
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.close();
    }
  }

  choose(template) {
    if (PROMISE_KINDS[template.key]) {
      this.choosePromise(template);
      return;
    }
    if (!template.vars.length) {
      this.onPick(template.key, null);
      this.close();
      return;
    }
    this.chosen = template;
    const fields = template.vars.map((name) => {
      const label = document.createElement("label");
      label.textContent = VAR_NAMES[name] || name;
      const input = document.createElement("input");
      input.name = name;
      input.required = true;
      input.maxLength = 200;
      label.append(input);
      return label;
    });
    const title = document.createElement("p");
    title.textContent = templateName(template.key);
    const send = document.createElement("button");
    send.type = "submit";
    send.textContent = "发送";
    this.ui.vars.replaceChildren(title, ...fields, send);
    this.ui.search.hidden = true;
    this.ui.list.replaceChildren();
    this.ui.vars.hidden = false;
    this.ui.vars.querySelector("input").focus();
  }

  choosePromise(template) {
    this.chosen = template;
    const title = document.createElement("p");
    title.textContent = `${templateName(template.key)}:约定答复时间`;
    const label = document.createElement("label");
    label.textContent = "时间 (24 小时内)";
    const input = document.createElement("input");
    input.type = "datetime-local";
    input.name = "due_at";
    input.required = true;
    input.id = "promise-time";
    // An hour from now, to the minute: the usual promise; the server is the judge of the rest.
    input.value = localValue(Math.ceil((this.now() + HOUR_MS) / 60000) * 60000);
    label.append(input);
    const send = document.createElement("button");
    send.type = "submit";
    send.textContent = "约定并发送";
    const error = document.createElement("p");
    error.className = "quick-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    this.ui.vars.dataset.kind = PROMISE_KINDS[template.key];
    this.ui.vars.replaceChildren(title, label, send, error);
    this.ui.search.hidden = true;
    this.ui.list.replaceChildren();
    this.ui.vars.hidden = false;
    input.focus();
  }

  submitVars(event) {
    event.preventDefault();
    if (PROMISE_KINDS[this.chosen.key]) {
      const value = this.ui.vars.querySelector("input[name=due_at]").value;
      const due = new Date(value); // a datetime-local value is the browser's local time
      const error = this.ui.vars.querySelector(".quick-error");
      error.hidden = true;
      this.ui.vars.querySelector("button[type=submit]").disabled = true;
      this.awaiting = this.onPromise(PROMISE_KINDS[this.chosen.key], due.toISOString());
      return;
    }
    const values = Object.fromEntries(new FormData(this.ui.vars).entries());
    this.onPick(this.chosen.key, values);
    this.close();
  }
}
