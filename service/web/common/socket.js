// The socket both pages use (contract v1, docs/protocol.md): it says hello on every open,
// reconnects with jittered exponential backoff, tries again at once when the browser comes
// back online, and leaves what each frame means to its page.

// 4401: no valid hello; 4403: identity or token refused. Retrying cannot help.
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
const RETRY_MAX_MS = 15000;

export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}`;
}

export class ChatSocket {
  // hello(): the hello frame for this open (resume data changes between opens);
  // onFrame(frame); onState("connecting" | "reconnecting" | "ready" | "offline");
  // onClose(event): return true to reconnect.
  constructor({ path, hello, onFrame, onState, onClose }) {
    Object.assign(this, { path, hello, onFrame, onState, onClose });
    this.socket = null;
    this.ready = false;
    this.retries = 0;
    this.retryTimer = null;
    window.addEventListener("online", () => {
      if (this.retryTimer && !this.socket) this.connect();
    });
  }

  get stopped() {
    return !this.socket && !this.retryTimer;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.ready = false;
    this.onState(this.retries ? "reconnecting" : "connecting");
    const socket = new WebSocket(socketUrl(this.path));
    this.socket = socket;
    socket.addEventListener("open", () => this.send(this.hello()));
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "ready") {
        this.ready = true;
        this.retries = 0;
      }
      this.onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (socket === this.socket) this.closed(event);
    });
  }

  // Closed by the page: no reconnect.
  stop(reason) {
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (socket) socket.close(1000, reason);
  }

  send(frame) {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  closed(event) {
    this.socket = null;
    this.ready = false;
    if (!this.onClose(event)) {
      this.onState("offline");
      return;
    }
    const base = Math.min(RETRY_MAX_MS, 500 * 2 ** this.retries);
    this.retries += 1;
    this.onState("reconnecting");
    this.retryTimer = setTimeout(() => this.connect(), base / 2 + Math.random() * base / 2);
  }
}
