// The demo host page's own script: the queue stub of the snippet, then the signed player the
// server wrote into the page (KEFU_DEMO), passed to the widget as a game site would.
window.kefu = window.kefu || function () { (window.kefu.q = window.kefu.q || []).push(arguments); };

function demoPlayer() {
  const meta = document.querySelector('meta[name="kefu-demo-player"]');
  try {
    return meta && meta.content ? JSON.parse(meta.content) : null;
  } catch {
    return null;
  }
}

const player = demoPlayer();
if (player) window.kefu("identify", player);

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("who").textContent = player ? `${player.name} · ${player.tier.toUpperCase()}` : "访客 (guest)";
  document.getElementById("open-chat").addEventListener("click", () => window.kefu("open"));
  const tag = document.querySelector('script[src$="/widget/widget.js"]');
  const origin = location.origin;
  document.getElementById("snippet").textContent =
    `<script src="${origin}/widget/widget.js" data-server="${origin}" data-locale="zh-CN"\n` +
    `        data-title="星辰游戏客服" data-colour="${tag.dataset.colour}" data-position="right" async></script>`;
});
