// The admin API as the dashboard reads it: the bearer token, problem+json errors, labels.

export class Problem extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    Object.assign(this, { status, code: body?.code || "http_error", body });
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`/api/v1${path}`, init);
    const answer = await response.json().catch(() => null);
    if (!response.ok) throw new Problem(response.status, answer);
    return answer;
  }

  get(path) {
    return this.call("GET", path);
  }
}

export const STATUS = {
  draft: "草稿 draft", open: "待受理 open", acknowledged: "已受理 acknowledged",
  escalated: "已升级 escalated", resolved: "已解决 resolved", followed_up: "已回访 followed up",
  closed: "已关闭 closed", dismissed: "已驳回 dismissed",
};
export const TOPICS = {
  recharge: "充值", account: "账号", gameplay: "游戏玩法", technical: "技术问题",
  service: "客服服务", other: "其他",
};
export const REASONS = {
  batch: "批量", repeat: "重复", important_customer: "重要客户", sensitive_customer: "敏感客户",
  escalated: "升级", major: "重大", skip_level: "越级", cross_region: "跨区",
};
export const AGENT_STATUS = { online: "在线 online", away: "离开 away", offline: "下线 offline" };
export const SENDERS = { customer: "顾客", agent: "坐席", system: "系统" };

export function seconds(value) {
  if (value === null || value === undefined) return "–";
  const s = Math.round(value);
  if (s < 60) return `${s} 秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} 分 ${s % 60} 秒`;
  return `${Math.floor(m / 60)} 小时 ${m % 60} 分`;
}

export function when(iso) {
  if (!iso) return "–";
  return new Date(iso).toLocaleString("zh-CN", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function who(customer) {
  if (!customer) return "–";
  const name = customer.name || customer.player_id || (customer.guest ? "访客" : `#${customer.id}`);
  return customer.tier ? `${name} · ${customer.tier}` : name;
}

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}
