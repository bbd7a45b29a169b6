// The chat this tab holds, kept in sessionStorage: resume token, transcript, unsent messages.
// A reload shows the transcript at once and resumes from `lastSeq`; closing the tab forgets it.

const STORAGE_KEY = "kefu.widget.chat";
const MAX_STORED_MESSAGES = 300;

export function emptyChat() {
  // lastSeq counts only message frames received, never seqs learned from an ack: an ack can
  // overtake an earlier message still on its way, and resuming past it would lose that message.
  return { chatId: null, token: null, playerId: null, lastSeq: 0, status: null, agent: null,
           closedBy: null, rated: null, inLine: false, nobodyOnline: false, messages: new Map(),
           pending: new Map() };
}

export function loadChat() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
    if (!saved || !saved.token) return emptyChat();
    return {
      ...emptyChat(),
      ...saved,
      messages: new Map((saved.messages || []).map((m) => [m.seq, m])),
      pending: new Map((saved.pending || []).map((p) => [p.client_id, p])),
    };
  } catch {
    return emptyChat();
  }
}

export function saveChat(chat) {
  if (!chat.token) return;
  const messages = [...chat.messages.values()].sort((a, b) => a.seq - b.seq);
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify({
    ...chat,
    messages: messages.slice(-MAX_STORED_MESSAGES),
    pending: [...chat.pending.values()],
  }));
}

export function clearChat() {
  sessionStorage.removeItem(STORAGE_KEY);
}
