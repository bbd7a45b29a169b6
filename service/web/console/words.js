// What the console calls things: template keys, server error codes and transfer refusals in
// the agent's words (the server's `message` fields are English, for logs and developers).

export const TEMPLATE_NAMES = {
  welcome: "欢迎语",
  opening: "开场问候",
  long_wait: "久等致歉",
  slow_reply: "回复慢致歉",
  stability: "稳定性答复",
  closing: "结束语",
  correction: "发错致歉",
  hold: "请稍等",
  hold_back: "久等回来",
  anything_else: "询问其他问题",
  abuse_warning: "文明用语提醒",
  no_response: "无应答提醒",
  callback: "约定回电",
  get_back: "稍后答复",
  complaint_ack: "投诉受理",
  survey: "满意度调查",
  unsatisfied: "不满意回访",
  queued: "排队提示",
  nobody_online: "无人在线",
  leave_message_ack: "留言受理",
  transferred: "转接提示",
  returned_to_queue: "退回队列",
  reassigned: "改派提示",
};

// The quick replies that promise a time, and the kind of promise each opens (S-callback).
export const PROMISE_KINDS = { callback: "callback", get_back: "follow_up" };
export const PROMISE_NAMES = { callback: "约定回电", follow_up: "投诉答复" };

export const VAR_NAMES = { time: "时间", name: "姓名", order: "订单号" };

export function templateName(key) {
  return TEMPLATE_NAMES[key] || key;
}

const ERRORS = {
  not_your_chat: "该会话已不归您接待",
  invalid_state: "会话当前状态不允许此操作",
  text_too_long: "消息过长",
  unknown_template: "没有这条快捷回复",
  invalid_template: "快捷回复的变量不完整",
  unknown_topic: "投诉类别无效",
  bad_frame: "请求格式有误",
  not_your_message: "只能更正自己发出的消息",
  not_found: "没有找到(或不归您)",
};

// S-callback-24h: why a promised time was refused.
const PROMISE_REFUSALS = {
  too_far: "约定时间超过 24 小时,请约在 24 小时之内",
  past: "约定时间已过,请选择之后的时间",
  no_zone: "时间缺少时区",
  no_complaint: "该会话没有未办结的投诉,请先登记投诉",
};

const REFUSALS = {
  offline: "对方不在线",
  full: "对方接待已满",
  unknown_agent: "没有这位坐席(或已停用)",
  self: "不能转给自己",
  nobody_online: "该组没有其他在线成员",
  unknown_group: "没有这个组",
};

export function errorText(frame) {
  if (frame.code === "forbidden_phrase") return refusalText(frame);
  if (frame.code === "transfer_refused") return `转接失败:${REFUSALS[frame.reason] || frame.reason}`;
  if (frame.code === "promise_refused") return `未约定:${PROMISE_REFUSALS[frame.reason] || frame.message}`;
  return ERRORS[frame.code] || frame.message;
}

// S-forbidden-phrases: the guard names the phrase and what to say instead.
export function refusalText(frame) {
  const instead = frame.suggestion ? `,建议改为“${frame.suggestion}”` : "";
  return `含服务忌语“${frame.phrase}”,未发送${instead}`;
}
