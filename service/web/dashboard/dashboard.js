// The supervisor dashboard: signs in with a supervisor or admin token and reads the admin API
// every few seconds: the desk (S-no-unattended), the queue and agents (S-max-wait,
// S-no-silence), today's reply times and satisfaction (S-answer-fast, S-satisfaction), the
// complaint table (S-record), flagged customers (S-abuse) and overdue promises (S-callback-24h).

import { unlockSound } from "/common/notify.js";
import { leftText } from "/common/owners.js";
import { AGENT_STATUS, Api, el, seconds, when, who } from "./api.js";
import { AlertPanel, alertsOf } from "./alerts.js";
import { BreachChart, ReplyChart } from "./charts.js";
import { ComplaintDesk } from "./complaints.js";
import { Transcript } from "./transcript.js";

const TOKEN_KEY = "kefu.dashboard.token";
const REFRESH_MS = 5000;

const ui = Object.fromEntries(
  [...document.querySelectorAll("[id]")].map((node) => [
    node.id.replace(/-([a-z])/g, (_, c) => c.toUpperCase()), node,
  ]),
);

let api = null;
let timer = null;
let charts = null;
let complaints = null;
let transcript = null;
let alerts = null;

function tell(text) {
  ui.banner.textContent = text;
  ui.banner.hidden = !text;
}

function kpi(node, value, level = "") {
  node.querySelector(".kpi-value").textContent = value;
  node.className = `kpi${level ? ` is-${level}` : ""}`;
}

// S-max-wait: amber from 45 s, red from 60 s, as the console's clocks.
function level(wait, limit = 60) {
  if (wait === null || wait === undefined) return "";
  if (wait >= limit) return "red";
  return wait >= limit * 0.75 ? "amber" : "";
}

function startOfDay(serverNow) {
  const day = new Date(serverNow);
  day.setHours(0, 0, 0, 0);
  return day.toISOString();
}

function chatLink(chatId) {
  const button = el("button", { type: "button", className: "link", dataset: { chatId: String(chatId) } }, `#${chatId}`);
  button.addEventListener("click", () => transcript.open(chatId));
  return button;
}

function renderAlarm(desk) {
  ui.alarm.hidden = !desk.unattended;
  ui.alarm.textContent = desk.unattended
    ? `无人值守!服务时间 ${desk.service_hours}(${desk.timezone})内没有坐席接待,${desk.queued_chats} 个会话在排队。` +
      " Desk unattended (S-no-unattended)."
    : "";
}

function renderQueue(queue, chats, now) {
  kpi(ui.kpiQueue, String(queue.length), queue.length ? "amber" : "");
  kpi(ui.kpiLongest, seconds(queue.longest_wait_s), level(queue.longest_wait_s));
  kpi(ui.kpiWaiting, `${queue.waiting_for_reply}`, level(queue.longest_reply_wait_s));
  kpi(ui.kpiOnline, String(queue.agents_online), queue.agents_online ? "" : "red");
  // The list API is newest first; the queue reads longest waiting first.
  const waiting = [...chats.items].sort((a, b) => (a.queued_since || "").localeCompare(b.queued_since || ""));
  const rows = waiting.map((chat) => {
    const wait = chat.queued_since ? (now - new Date(chat.queued_since)) / 1000 : null;
    return el(
      "tr", { dataset: { chatId: String(chat.id) } },
      el("td", {}, chatLink(chat.id)),
      el("td", {}, who(chat.customer)),
      el("td", { className: `wait ${level(wait) ? `is-${level(wait)}` : ""}` }, seconds(wait)),
    );
  });
  ui.queue.tBodies[0].replaceChildren(...rows);
  ui.queueEmpty.hidden = rows.length > 0;
}

function renderAgents(agents, queue) {
  const waits = new Map(queue.agents.map((wait) => [wait.agent_id, wait]));
  const rows = agents.filter((agent) => agent.active).map((agent) => {
    const wait = waits.get(agent.id);
    const live = agent.connections > 0 ? agent.status : "offline";
    const share = Math.min(1, agent.open_chats / agent.capacity);
    const meter = el("meter", { min: "0", max: String(agent.capacity), value: String(agent.open_chats),
                               high: String(agent.capacity - 0.5), "aria-label": "负载 load" });
    return el(
      "tr", { className: `agent is-${live}`, dataset: { agentId: String(agent.id) } },
      el("td", {}, agent.name, " ", el("small", {}, `${agent.employee_no}${agent.role === "supervisor" ? " · 主管" : ""}`)),
      el("td", {}, el("span", { className: `dot dot-${live}` }), AGENT_STATUS[live] || live),
      el("td", { className: share >= 1 ? "is-full" : "" }, meter, ` ${agent.open_chats}/${agent.capacity}`),
      el("td", { className: `wait ${wait ? `is-${level(wait.longest_reply_wait_s)}` : ""}` },
         wait ? `${seconds(wait.longest_reply_wait_s)}(${wait.waiting_for_reply})` : "–"),
    );
  });
  ui.agents.tBodies[0].replaceChildren(...rows);
  ui.agentsEmpty.hidden = rows.length > 0;
}

function renderReplies(report) {
  charts.reply.update(report);
  charts.breach.update(report);
  ui.breachEmpty.hidden = report.agents.length > 0;
  const { overall } = report;
  kpi(ui.kpiBreaches, String(overall.breaches), overall.breaches ? "red" : "");
  ui.replyNote.textContent =
    `${overall.chats} 个会话,${overall.replies} 次回复,超时 ${overall.breaches} 次(超过 ${report.max_wait_s} 秒),` +
    `致歉 ${overall.apologies} 次,改派 ${overall.reassignments} 次。`;
}

function renderSatisfaction(report) {
  const all = report.overall;
  const bands = [
    ["unsatisfied", "不满意 0–4", all.unsatisfied],
    ["average", "一般 5–7", all.average],
    ["satisfied", "满意 8–10", all.satisfied],
  ];
  ui.bands.replaceChildren(...bands.map(([key, label, count]) => {
    const band = el("div", { className: `band band-${key}`, dataset: { band: key, count: String(count) } },
                    el("span", {}, `${label} · ${count} 次`));
    band.style.flexGrow = String(all.ratings ? count : 1);
    return band;
  }));
  const share = all.ratings ? `${Math.round(all.satisfied_share * 100)}%` : "–";
  kpi(ui.kpiSatisfied, share, all.ratings && all.unsatisfied_share > 0.2 ? "red" : "");
  ui.satisfactionNote.textContent = all.ratings
    ? `${all.ratings} 次评价,平均 ${all.mean.toFixed(1)} 分,中位数 ${all.p50}。`
    : "今日暂无评价 No ratings today";
}

function renderFlagged(page) {
  const reasons = { abuse: "辱骂 abuse", staff: "人工标记 staff" };
  ui.flagged.replaceChildren(...page.items.map((customer) => el(
    "li", { dataset: { customerId: String(customer.id) } },
    el("strong", {}, who(customer)), " ",
    el("span", { className: "tag tag-urgent" }, reasons[customer.flag_reason] || customer.flag_reason || "flagged"),
    customer.sensitive ? el("span", { className: "tag" }, "敏感 sensitive") : null,
    el("small", {}, ` ${when(customer.flagged_at)}`),
  )));
  ui.flaggedEmpty.hidden = page.items.length > 0;
}

// S-first-responder: chats taken from an agent without a handover or a close, today.
function renderDrops(report) {
  const rows = report.items.map((line) => el(
    "tr", { dataset: { agentId: String(line.agent_id), dropped: String(line.dropped) } },
    el("td", {}, line.name, " ", el("small", {}, line.employee_no)),
    el("td", { className: "is-drop" }, String(line.dropped)),
    el("td", {}, Object.entries(line.reasons).map(([how, n]) => `${leftText(how)} ${n}`).join(" · ")),
  ));
  ui.drops.tBodies[0].replaceChildren(...rows);
  ui.dropsEmpty.hidden = rows.length > 0;
}

function renderPromises(page) {
  const kinds = { callback: "回电 callback", follow_up: "答复 follow-up" };
  ui.promises.replaceChildren(...page.items.map((promise) => el(
    "li", { dataset: { promiseId: String(promise.id) } },
    el("span", { className: "tag tag-overdue" }, kinds[promise.kind] || promise.kind), " ",
    el("strong", {}, who(promise.customer)), " ",
    promise.agent ? `${promise.agent.name}(${promise.agent.employee_no})` : "", " ",
    el("small", {}, `应于 ${when(promise.due_at)}`), " ",
    chatLink(promise.chat_id),
  )));
  ui.promisesEmpty.hidden = page.items.length > 0;
}

async function refresh() {
  clearTimeout(timer);
  try {
    const desk = await api.get("/desk");
    const today = encodeURIComponent(startOfDay(desk.at));
    const [queue, queued, agents, replies, satisfaction, flagged, promises, drops, callbacks] = await Promise.all([
      api.get("/reports/queue"),
      api.get("/chats?status=queued&limit=100"),
      api.get("/agents"),
      api.get(`/reports/reply-times?from=${today}`),
      api.get(`/reports/satisfaction?since=${today}`),
      api.get("/customers?flagged=true&limit=100"),
      api.get("/promises?overdue=true&limit=100"),
      api.get(`/reports/drops?since=${today}`),
      api.get("/callbacks?status=open&overdue=true&limit=100"),
    ]);
    const now = new Date(queue.at);
    renderAlarm(desk);
    renderQueue(queue, queued, now);
    renderAgents(agents, queue);
    renderReplies(replies);
    renderSatisfaction(satisfaction);
    renderFlagged(flagged);
    renderPromises(promises);
    renderDrops(drops);
    const rows = await complaints.load(agents);
    alerts.update(alertsOf({
      desk, queue, queued: queued.items, agents, complaints: rows, promises: promises.items,
      callbacks: callbacks.items, maxWait: replies.max_wait_s, now,
    }));
    tell("");
    ui.updated.textContent = `更新于 ${now.toLocaleTimeString("zh-CN")} · 每 ${REFRESH_MS / 1000} 秒刷新`;
    ui.app.dataset.state = "ready";
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      signOut(error.status === 401 ? "Token 无效或已撤销 (401 unauthorized)"
                                   : "此 Token 不是主管或管理员 (403 forbidden)");
      return;
    }
    ui.app.dataset.state = "stale";
    tell(`刷新失败,稍后重试 Refresh failed: ${error.message}`);
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

function signIn(token) {
  api = new Api(token);
  sessionStorage.setItem(TOKEN_KEY, token);
  ui.login.hidden = true;
  ui.intro.hidden = true;
  ui.me.hidden = false;
  ui.board.hidden = false;
  ui.app.dataset.state = "loading";
  charts ??= { reply: new ReplyChart(ui.replyChart), breach: new BreachChart(ui.breachChart) };
  // Made once (they hold listeners); a new sign-in hands them the new token.
  complaints ??= new ComplaintDesk(ui, api, (chatId) => transcript.open(chatId));
  transcript ??= new Transcript(ui, api, tell);
  alerts ??= new AlertPanel(ui, (what) => (what.complaint ? complaints.open(what.complaint) : transcript.open(what.chat)));
  alerts.reset();
  complaints.api = api;
  transcript.api = api;
  refresh();
}

function signOut(reason = "") {
  clearTimeout(timer);
  sessionStorage.removeItem(TOKEN_KEY);
  api = null;
  ui.login.hidden = false;
  ui.intro.hidden = false;
  ui.me.hidden = true;
  ui.board.hidden = true;
  ui.alarm.hidden = true;
  ui.complaint.hidden = true;
  ui.transcript.hidden = true;
  ui.app.dataset.state = "signed-out";
  alerts?.reset();
  tell(reason);
}

ui.login.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = ui.token.value.trim();
  unlockSound(); // the sign-in click lets the page chime on a new urgent alert
  if (token) signIn(token);
});
ui.signOut.addEventListener("click", () => signOut());
ui.refresh.addEventListener("click", () => refresh());
ui.lookup.addEventListener("submit", (event) => {
  event.preventDefault();
  transcript.open(Number(ui.lookupId.value));
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  ui.complaint.hidden = true;
  ui.transcript.hidden = true;
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) signIn(saved);
