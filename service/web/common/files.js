// Attachments, as both pages use them (docs/protocol.md#attachments): a file is uploaded over
// HTTP with the socket's own credentials (the widget's resume token, the console's agent
// token) and sent by id in a `message`; a chat's files are shown through short-lived signed
// links, asked for when a line needs one and again when one has expired.

export const ACCEPT = "image/png,image/jpeg,image/webp,application/pdf";
// A link is reused for a minute after it came, then asked for again: counted on this
// browser's clock only, which may differ from the server's (the expiry is the server's time).
// One that has expired anyway (a shorter KEFU_MEDIA_URL_TTL_S) is asked for again on error.
const REUSE_FOR_MS = 60000;

export class UploadError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// The image files of a paste (a screenshot copied to the clipboard), or of a file picker.
export function imagesIn(items) {
  return [...(items || [])]
    .filter((item) => item.kind === "file" && item.type.startsWith("image/"))
    .map((item) => item.getAsFile())
    .filter(Boolean);
}

export class Files {
  // token(): the bearer token for this page's requests; onImageLoad(): a picture got its size
  // (the page keeps its transcript scrolled to the end).
  constructor(token, { onImageLoad = () => {} } = {}) {
    this.token = token;
    this.onImageLoad = onImageLoad;
    this.links = new Map(); // attachment id -> {url, until}
    this.asking = new Map(); // chat id -> the request in flight
  }

  headers() {
    return { Authorization: `Bearer ${this.token()}` };
  }

  async upload(chatId, file) {
    const name = encodeURIComponent(file.name || "screenshot.png");
    let response;
    try {
      response = await fetch(`/media/chats/${chatId}?name=${name}`, {
        method: "POST", headers: this.headers(), body: file,
      });
    } catch {
      throw new UploadError("network", "network");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new UploadError(body.code || "error", body.detail || response.statusText);
    this.remember(body);
    return body;
  }

  remember(item) {
    this.links.set(item.id, { url: item.url, until: Date.now() + REUSE_FOR_MS });
  }

  link(id) {
    const known = this.links.get(id);
    return known && known.until > Date.now() ? known.url : null;
  }

  // Fresh links for every sent file of the chat; one request at a time per chat.
  refresh(chatId) {
    if (this.asking.has(chatId)) return this.asking.get(chatId);
    const asked = fetch(`/media/chats/${chatId}`, { headers: this.headers() })
      .then((response) => (response.ok ? response.json() : { items: [] }))
      .then((body) => { for (const item of body.items) this.remember(item); })
      .catch(() => {})
      .finally(() => this.asking.delete(chatId));
    this.asking.set(chatId, asked);
    return asked;
  }

  async linkFor(chatId, id) {
    let url = this.link(id);
    if (!url) {
      await this.refresh(chatId);
      url = this.link(id);
    }
    return url;
  }

  // The elements that show a message's attachments: images inline, other files as links.
  // `preview` (a blob: URL of the file being sent) shows an upload before it has a link.
  elements(chatId, attachments, { preview = null, label = (a) => a.name } = {}) {
    const box = document.createElement("div");
    box.className = "msg-files";
    for (const attachment of attachments) {
      const link = document.createElement("a");
      link.className = "msg-file";
      link.target = "_blank";
      link.rel = "noopener";
      link.dataset.attachmentId = String(attachment.id ?? "");
      if (attachment.content_type.startsWith("image/")) {
        const image = document.createElement("img");
        image.alt = label(attachment);
        image.decoding = "async";
        if (attachment.width && attachment.height) {
          image.width = attachment.width;
          image.height = attachment.height;
        }
        image.addEventListener("load", () => this.onImageLoad(image));
        if (preview) image.src = preview;
        link.classList.add("is-image");
        link.append(image);
      } else {
        link.classList.add("is-document");
        link.textContent = `${label(attachment)} · ${sizeText(attachment.size)}`;
      }
      box.append(link);
      if (attachment.id) this.fill(chatId, attachment.id, link);
    }
    return box;
  }

  async fill(chatId, id, link) {
    const url = await this.linkFor(chatId, id);
    if (!url) return;
    link.href = url;
    const image = link.querySelector("img");
    if (!image) return;
    // An expired link (a console left open for an hour): asked for once more.
    image.addEventListener("error", () => {
      if (image.dataset.retried) return;
      image.dataset.retried = "1";
      this.links.delete(id);
      this.linkFor(chatId, id).then((fresh) => { if (fresh) { link.href = fresh; image.src = fresh; } });
    }, { once: true });
    image.src = url;
  }
}
