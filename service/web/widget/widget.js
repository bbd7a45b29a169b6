// The embed loader: one <script src="https://kefu.example/widget/widget.js" async> on any site
// adds a launcher bubble that opens the chat page (/widget/?embed=1) in a frame. README shows
// the snippet; data- attributes on the tag: server, locale, group, colour, title, position.
//
// The host talks to it through a queue, usable before this file has loaded:
//   window.kefu = window.kefu || function () { (kefu.q = kefu.q || []).push(arguments); };
//   kefu("identify", {id, name, tier, ts, sig});  // signed by the game backend
//   kefu("open"); kefu("close");
// Everything it draws lives in a shadow root, so the host page's CSS cannot reach it.
(function () {
  "use strict";
  if (window.kefu && window.kefu.loaded) return;
  // currentScript is null only if the tag was loaded as a module: look for it by name then.
  var script = document.currentScript || document.querySelector('script[src*="/widget/widget.js"]');
  if (!script) return;
  var data = script.dataset;
  var server = new URL(data.server || script.src, location.href).origin;
  var locale = /^en/i.test(data.locale || document.documentElement.lang || "") ? "en" : "zh-CN";
  var colour = /^#[0-9a-fA-F]{3,8}$/.test(data.colour || "") ? data.colour : "#1f6feb";
  var left = data.position === "left";
  var WORDS = {
    "zh-CN": { open: "打开在线客服", close: "收起在线客服", frame: "在线客服", unread: "条新消息" },
    en: { open: "Open support chat", close: "Close support chat", frame: "Support chat", unread: "new" },
  }[locale];
  var STORE = "kefu.launcher"; // this tab: was the chat started, is it open
  var side = left ? "left" : "right";
  var CSS =
    ":host{all:initial}" +
    ".launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483646;width:60px;height:60px;" +
    "border:0;border-radius:50%;background:" + colour + ";color:#fff;cursor:pointer;display:grid;" +
    "place-items:center;box-shadow:0 6px 24px rgba(0,0,0,.25);transition:transform .15s}" +
    ".launcher:hover{transform:scale(1.06)}" +
    ".launcher:focus-visible{outline:3px solid #ffb000;outline-offset:3px}" +
    ".launcher svg{width:28px;height:28px;fill:currentColor}" +
    ".launcher .x{display:none}.launcher[aria-expanded=true] .x{display:block}" +
    ".launcher[aria-expanded=true] .bubble{display:none}" +
    ".badge{position:absolute;top:-2px;" + (left ? "left" : "right") + ":-2px;min-width:20px;height:20px;" +
    "padding:0 6px;border-radius:10px;background:#cf222e;color:#fff;font:600 12px/20px system-ui,sans-serif;" +
    "text-align:center;box-sizing:border-box}" +
    ".panel{position:fixed;bottom:92px;" + side + ":20px;z-index:2147483647;width:380px;" +
    "height:min(640px,calc(100vh - 112px));border:0;border-radius:14px;background:#fff;" +
    "box-shadow:0 12px 48px rgba(0,0,0,.28);overflow:hidden}" +
    ".panel[hidden]{display:none}" +
    ".panel iframe{width:100%;height:100%;border:0;display:block}" +
    // On a phone the chat is the whole screen; its own header has the minimise button.
    "@media (max-width:520px){.panel{inset:0;width:auto;height:auto;border-radius:0}" +
    ":host(.open) .launcher{display:none}}";
  var ICON_CHAT = "M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.6 3.4 6.1L4.5 21l4.4-2.3c1 .2 2 .3 3.1.3 " +
    "5.5 0 10-3.6 10-8s-4.5-8-10-8z";
  var ICON_X = "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 " +
    "4.3l6.3 6.3 6.3-6.3z";

  var player = null;
  var frame = null;
  var root, launcher, badge, panel, wrap;

  function remembered() {
    try { return JSON.parse(sessionStorage.getItem(STORE)) || {}; } catch (e) { return {}; }
  }
  function remember(open) {
    try { sessionStorage.setItem(STORE, JSON.stringify({ started: true, open: open })); } catch (e) { /* private mode */ }
  }

  function build() {
    wrap = document.createElement("div");
    wrap.setAttribute("data-kefu", "");
    root = wrap.attachShadow({ mode: "open" });
    // A constructed sheet, not a <style> element: a host CSP without 'unsafe-inline' allows it.
    if ("adoptedStyleSheets" in root && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      var style = document.createElement("style");
      style.textContent = CSS;
      root.appendChild(style);
    }
    launcher = document.createElement("button");
    launcher.type = "button";
    launcher.className = "launcher";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "kefu-panel");
    launcher.setAttribute("aria-label", WORDS.open);
    launcher.appendChild(icon("bubble", ICON_CHAT));
    launcher.appendChild(icon("x", ICON_X));
    badge = document.createElement("span");
    badge.className = "badge";
    badge.hidden = true;
    launcher.appendChild(badge);
    launcher.addEventListener("click", function () { isOpen() ? close() : open(); });
    panel = document.createElement("div");
    panel.className = "panel";
    panel.id = "kefu-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", WORDS.frame);
    panel.addEventListener("keydown", function (event) { if (event.key === "Escape") close(); });
    root.appendChild(panel);
    root.appendChild(launcher);
    document.body.appendChild(wrap);
    window.addEventListener("message", onMessage);
    var saved = remembered();
    if (saved.started) {
      ensureFrame();
      if (saved.open) open();
    }
  }

  // Built as nodes, not from markup: a host enforcing Trusted Types refuses innerHTML.
  function icon(className, path) {
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", className);
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var shape = document.createElementNS("http://www.w3.org/2000/svg", "path");
    shape.setAttribute("d", path);
    svg.appendChild(shape);
    return svg;
  }

  function chatUrl() {
    var query = new URLSearchParams({ embed: "1", locale: locale, origin: location.origin });
    if (data.group) query.set("group", data.group);
    if (data.title) query.set("title", data.title);
    if (data.colour) query.set("colour", colour);
    return server + "/widget/?" + query.toString();
  }

  // Made at the first open (a visitor who never opens the chat opens no chat on the server).
  function ensureFrame() {
    if (frame) return;
    frame = document.createElement("iframe");
    frame.title = WORDS.frame;
    frame.src = chatUrl();
    panel.appendChild(frame);
  }

  function post(message) {
    if (frame && frame.contentWindow) {
      message.kefu = "host";
      frame.contentWindow.postMessage(message, server);
    }
  }

  function onMessage(event) {
    // Only our own frame, from kefu's origin.
    if (!frame || event.source !== frame.contentWindow || event.origin !== server) return;
    var message = event.data || {};
    if (message.kefu !== "chat") return;
    if (message.type === "listening") {
      post({ type: "init", player: player });
      post({ type: "visible", open: isOpen() });
    } else if (message.type === "close") {
      close();
    } else if (message.type === "unread") {
      badge.textContent = message.count > 9 ? "9+" : String(message.count);
      badge.hidden = !message.count || isOpen();
      launcher.setAttribute("aria-label", WORDS.open + (message.count ? " (" + message.count + " " + WORDS.unread + ")" : ""));
    }
  }

  function isOpen() { return Boolean(panel) && !panel.hidden; }

  function open() {
    if (!panel) return;
    ensureFrame();
    panel.hidden = false;
    root.host.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", WORDS.close);
    badge.hidden = true;
    remember(true);
    frame.focus();
    post({ type: "visible", open: true });
  }

  function close() {
    if (!panel || panel.hidden) return;
    panel.hidden = true;
    root.host.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", WORDS.open);
    remember(false);
    post({ type: "visible", open: false });
    launcher.focus();
  }

  function identify(who) {
    player = who && typeof who === "object" ? who : null;
    post({ type: "identify", player: player });
  }

  var api = function (command, argument) {
    if (command === "identify") identify(argument);
    else if (command === "open") open();
    else if (command === "close") close();
  };
  var queued = (window.kefu && window.kefu.q) || [];
  api.loaded = true;
  window.kefu = api;

  function boot() {
    build();
    for (var i = 0; i < queued.length; i += 1) api.apply(null, queued[i]);
  }
  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot);
})();
