// The chain of owners (S-first-responder, 首问负责制) as the console and the dashboard show it:
// who took a chat or complaint, when and how, and how they let go. The spans come from the
// admin API (GET /api/v1/chats/{id}, GET /api/v1/complaints/{id}: `owners`).

// How an owner took it: a chat (routed, transfer, shift_end) or a complaint (recorded, then the
// actor of each owner change: admin, admin:<name>, agent:<id>, shift:<name>).
const TOOK = {
  routed: "分配接手", transfer: "转接接手", shift_end: "交班接手", recorded: "登记",
  admin: "主管指定", system: "系统指定",
};
// How they let go; everything but a handover or a close is a drop (service/owners/rules.py).
const LEFT = {
  transfer: "转出", shift_end: "交班", closed: "结束",
  accept_timeout: "未接手超时", offline: "下线", gone: "掉线", disabled: "账号停用",
  token_replaced: "Token 更换", token_revoked: "Token 撤销",
  admin: "主管改派", system: "系统改派",
};
const HANDED_ON = new Set(["routed", "transfer", "shift_end", "closed", "recorded"]);

// "掉线 gone": how an owner let go, as the drop report's reasons name it too.
export function leftText(how) {
  return howText(LEFT, how);
}

function howText(table, how) {
  if (!how) return "";
  if (table[how]) return table[how];
  const [actor, name] = how.split(":");
  if (actor === "shift") return `交班(${name})`;
  if (actor === "admin") return `主管指定(${name})`;
  if (actor === "agent") return `坐席 #${name} 指定`;
  return how;
}

// A chat's drop: taken from its owner without a handover or a close. A complaint's owner
// changes are always someone's decision, never a drop.
export function isDrop(how) {
  return Boolean(how) && !HANDED_ON.has(how) && !how.includes(":") && !TOOK[how];
}

function time(iso) {
  return new Date(iso).toLocaleString("zh-CN", {
    month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

export function ownerName(span) {
  if (!span.name) return `坐席 #${span.agent_id}`;
  return span.employee_no ? `${span.name}(${span.employee_no})` : span.name;
}

// One <li> per owner, oldest first: "小王(1001) 分配接手 10:02:11 → 转出 10:05:40". ``since``:
// what the page knows happened after the spans were read (the console: "已转交"), if anything.
export function ownerItems(spans, since = null) {
  return spans.map((span) => {
    const drop = isDrop(span.left_how);
    const item = node("li", `owner${drop ? " is-drop" : ""}${span.left_at ? "" : " is-current"}`);
    item.dataset.agentId = String(span.agent_id);
    item.dataset.took = span.took_how;
    item.dataset.left = span.left_how || "";
    const took = node("span", "owner-took", `${howText(TOOK, span.took_how)} `);
    took.append(node("time", "", time(span.took_at)));
    item.append(node("strong", "owner-name", ownerName(span)), " ", took, " → ");
    if (span.left_at) {
      const left = node("span", "owner-left", `${howText(LEFT, span.left_how)} `);
      left.append(node("time", "", time(span.left_at)));
      item.append(left);
    } else {
      item.append(node("span", "owner-left", since || "当前负责"));
      if (since) item.classList.remove("is-current");
    }
    return item;
  });
}
