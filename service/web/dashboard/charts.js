// The dashboard's two charts, drawn by uPlot (vendored): today's reply-time percentiles against
// the S-max-wait line, and each agent's SLA breaches.

import uPlot from "/vendor/uplot-1.6.32/uPlot.esm.js";

const PERCENTILES = ["avg", "p50", "p90", "p99"];
const LABELS = ["平均 avg", "p50", "p90", "p99"];
const HEIGHT = 220;

function width(host) {
  return Math.max(240, host.clientWidth);
}

function categories(labels) {
  return {
    scale: "x",
    values: (u, splits) => splits.map((i) => (Number.isInteger(i) ? labels[i] ?? "" : "")),
    splits: () => labels.map((_, i) => i),
    grid: { show: false },
  };
}

function resizing(chart, host) {
  new ResizeObserver(() => chart.setSize({ width: width(host), height: HEIGHT })).observe(host);
}

export class ReplyChart {
  constructor(host) {
    this.host = host;
    this.sla = 60;
    const bars = (align, fill, stroke) => ({
      fill, stroke, width: 1, paths: uPlot.paths.bars({ size: [0.35, 48], align }), points: { show: false },
    });
    this.chart = new uPlot(
      {
        width: width(host),
        height: HEIGHT,
        scales: {
          x: { time: false, range: () => [-0.5, PERCENTILES.length - 0.5] },
          y: { range: (u, min, max) => [0, Math.max(max ?? 0, this.sla) * 1.15] },
        },
        axes: [categories(LABELS), { label: "秒 s", size: 48 }],
        series: [
          {},
          { label: "首次响应 first response", ...bars(-1, "rgba(31,111,235,0.75)", "#1f6feb") },
          { label: "回复等待 reply wait", ...bars(1, "rgba(130,80,223,0.7)", "#8250df") },
          { label: "超时线 S-max-wait", stroke: "#cf222e", width: 2, dash: [6, 4], points: { show: false } },
        ],
        legend: { live: false },
      },
      this.data(null),
      host,
    );
    resizing(this.chart, host);
  }

  data(report) {
    const x = PERCENTILES.map((_, i) => i);
    const pick = (spread) => PERCENTILES.map((p) => spread?.[p] ?? null);
    const sla = report?.max_wait_s ?? this.sla;
    return [x, pick(report?.overall.first_response_s), pick(report?.overall.reply_wait_s), x.map(() => sla)];
  }

  update(report) {
    this.sla = report.max_wait_s;
    this.chart.setData(this.data(report));
    this.host.dataset.replies = String(report.overall.replies);
  }
}

export class BreachChart {
  constructor(host) {
    this.host = host;
    this.labels = [];
    this.chart = new uPlot(
      {
        width: width(host),
        height: HEIGHT,
        scales: {
          x: { time: false, range: () => [-0.5, Math.max(this.labels.length, 1) - 0.5] },
          y: { range: (u, min, max) => [0, Math.max(max ?? 0, 4) + 1] },
        },
        axes: [
          {
            values: (u, splits) => splits.map((i) => (Number.isInteger(i) ? this.labels[i] ?? "" : "")),
            splits: () => this.labels.map((_, i) => i),
            grid: { show: false },
          },
          { label: "次 count", size: 48, incrs: [1, 2, 5, 10, 20, 50, 100] },
        ],
        series: [
          {},
          {
            label: "超时 breaches", fill: "rgba(207,34,46,0.7)", stroke: "#cf222e", width: 1,
            paths: uPlot.paths.bars({ size: [0.35, 48], align: -1 }), points: { show: false },
          },
          {
            label: "回复 replies", fill: "rgba(101,109,118,0.25)", stroke: "#656d76", width: 1,
            paths: uPlot.paths.bars({ size: [0.35, 48], align: 1 }), points: { show: false },
          },
        ],
        legend: { live: false },
      },
      [[], [], []],
      host,
    );
    resizing(this.chart, host);
  }

  update(report) {
    this.labels = report.agents.map((agent) => `${agent.name}(${agent.employee_no})`);
    const x = report.agents.map((_, i) => i);
    this.chart.setData([x, report.agents.map((a) => a.breaches), report.agents.map((a) => a.replies)]);
    this.host.dataset.agents = String(report.agents.length);
  }
}
