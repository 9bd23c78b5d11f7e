// The dashboard page the admin HTTP port serves at /: one self-contained HTML document
// (no CDN, no external script or font) that polls /stats once a second and draws its
// charts on <canvas> with a few lines of its own: ops/s and latency per command,
// replication lag per peer, anti-entropy keys per second, members' states over time,
// keys per type. Each canvas records how many points it drew (data-points), for tests.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>peerkv</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:0;color:#1d2330;background:#f4f6fa}
header{background:#1d2330;color:#fff;padding:12px 20px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header span{opacity:.85}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:14px;padding:14px}
section{background:#fff;border-radius:8px;padding:10px 14px;box-shadow:0 1px 2px #0002}
h2{font-size:14px;margin:2px 0 8px;color:#445}
canvas{width:100%;height:190px;display:block}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #e4e7ee;text-align:left}
.state-alive{color:#087f23;font-weight:600}.state-suspect{color:#b26a00;font-weight:600}.state-dead{color:#b00020;font-weight:600}
#error{color:#b00020}
</style></head>
<body>
<header><h1>peerkv <span id="node"></span></h1><span id="summary">connecting...</span><span id="error"></span></header>
<main>
<section><h2>Operations per second, per command</h2><canvas id="chart-ops"></canvas></section>
<section><h2>Latency per call (µs, handler time), per command</h2><canvas id="chart-latency"></canvas></section>
<section><h2>Replication lag per peer (ms behind this node's writes)</h2><canvas id="chart-lag"></canvas></section>
<section><h2>Anti-entropy: keys per second received and sent</h2><canvas id="chart-ae"></canvas>
<table id="sync"><thead><tr><th>peer</th><th>round</th><th>keys received</th><th>keys sent</th><th>rounds</th></tr></thead><tbody></tbody></table></section>
<section><h2>Members over time</h2><canvas id="chart-members"></canvas>
<table id="members"><thead><tr><th>name</th><th>id</th><th>address</th><th>state</th><th>last seen</th></tr></thead><tbody></tbody></table></section>
<section><h2>Keys per type</h2><canvas id="chart-types"></canvas><div id="types-note"></div></section>
</main>
<script>
"use strict";
const HISTORY = 120;
const COLORS = ['#3366cc','#dc3912','#ff9900','#109618','#990099','#0099c6','#dd4477','#66aa00'];
const STATE_COLORS = { alive: '#2e9d47', suspect: '#f0a400', dead: '#d32f2f' };
const interval = Number(new URLSearchParams(location.search).get('interval')) || 1000;
const times = [];
const series = { ops: new Map(), latency: new Map(), lag: new Map(), ae: new Map() };
const memberHistory = [];
let previous;

function esc(text) { return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }

function record(map, name, value) {
  let values = map.get(name);
  if (!values) { values = new Array(times.length - 1).fill(null); map.set(name, values); }
  values.push(value);
}

function pad(map) {
  for (const values of map.values()) {
    while (values.length < times.length) values.push(null);
    while (values.length > HISTORY) values.shift();
  }
}

function sized(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 400, height = canvas.clientHeight || 190;
  if (canvas.width !== Math.round(width * ratio)) { canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio); }
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  context.font = '11px system-ui,sans-serif';
  return { context, width, height };
}

function formatNumber(value) {
  if (value >= 1e6) return (value / 1e6).toFixed(1) + 'M';
  if (value >= 1e4) return (value / 1e3).toFixed(0) + 'k';
  if (value >= 100) return value.toFixed(0);
  return value.toFixed(value >= 10 ? 1 : 2);
}

/** Lines of the busiest series (top 6 by sum), y from 0, with a legend. */
function drawLines(canvas, map) {
  const { context, width, height } = sized(canvas);
  const left = 44, right = 8, top = 8, bottom = 36;
  const chosen = [...map.entries()].map(([name, values]) => ({ name, values, sum: values.reduce((a, v) => a + (v || 0), 0) }))
    .filter((entry) => entry.values.some((v) => v !== null)).sort((a, b) => b.sum - a.sum).slice(0, 6);
  let max = 0;
  for (const entry of chosen) for (const v of entry.values) if (v !== null && v > max) max = v;
  max = max > 0 ? max * 1.1 : 1;
  context.strokeStyle = '#e4e7ee'; context.fillStyle = '#667'; context.lineWidth = 1;
  for (let i = 0; i <= 3; i++) {
    const y = top + (height - top - bottom) * (1 - i / 3);
    context.beginPath(); context.moveTo(left, y); context.lineTo(width - right, y); context.stroke();
    context.fillText(formatNumber(max * i / 3), 2, y + 4);
  }
  const xOf = (index) => left + (width - left - right) * (index / Math.max(1, HISTORY - 1));
  const offset = HISTORY - times.length;
  let points = 0;
  chosen.forEach((entry, n) => {
    context.strokeStyle = COLORS[n % COLORS.length]; context.lineWidth = 2; context.beginPath();
    let drawing = false;
    entry.values.forEach((v, index) => {
      if (v === null) { drawing = false; return; }
      const x = xOf(index + offset), y = top + (height - top - bottom) * (1 - v / max);
      if (drawing) context.lineTo(x, y); else context.moveTo(x, y);
      drawing = true; points++;
    });
    context.stroke();
    const legendX = left + (n % 3) * ((width - left) / 3), legendY = height - 20 + Math.floor(n / 3) * 13;
    context.fillStyle = COLORS[n % COLORS.length]; context.fillRect(legendX, legendY - 8, 10, 3);
    context.fillStyle = '#334'; context.fillText(entry.name, legendX + 14, legendY - 3);
  });
  if (chosen.length === 0) { context.fillStyle = '#99a'; context.fillText('no data yet', left + 10, top + 20); }
  canvas.dataset.points = String(points);
}

/** One row per member, one cell per poll, coloured by the state this node saw then. */
function drawMembers(canvas) {
  const { context, width, height } = sized(canvas);
  const ids = [];
  const names = new Map();
  for (const sample of memberHistory) for (const m of sample) { if (!names.has(m.id)) ids.push(m.id); names.set(m.id, m.name); }
  const left = 110, rowHeight = Math.min(26, (height - 10) / Math.max(1, ids.length));
  const cell = (width - left - 4) / HISTORY;
  const offset = HISTORY - memberHistory.length;
  let points = 0;
  ids.forEach((id, row) => {
    const y = 4 + row * rowHeight;
    context.fillStyle = '#334'; context.fillText(names.get(id).slice(0, 16), 2, y + rowHeight / 2 + 4);
    memberHistory.forEach((sample, index) => {
      const member = sample.find((m) => m.id === id);
      context.fillStyle = member ? STATE_COLORS[member.state] || '#999' : '#e4e7ee';
      context.fillRect(left + (index + offset) * cell, y + 2, Math.max(1, cell - 0.5), rowHeight - 4);
      points++;
    });
  });
  canvas.dataset.points = String(points);
}

function drawBars(canvas, counts) {
  const { context, width, height } = sized(canvas);
  const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map((e) => e[1]));
  const barHeight = Math.min(28, (height - 8) / Math.max(1, entries.length));
  entries.forEach(([type, count], index) => {
    const y = 4 + index * barHeight;
    context.fillStyle = '#334'; context.fillText(type, 2, y + barHeight / 2 + 4);
    context.fillStyle = COLORS[index % COLORS.length];
    const barWidth = (width - 130) * count / max;
    context.fillRect(60, y + 3, Math.max(1, barWidth), barHeight - 6);
    context.fillStyle = '#334'; context.fillText(String(count), 64 + barWidth, y + barHeight / 2 + 4);
  });
  if (entries.length === 0) { context.fillStyle = '#99a'; context.fillText(counts ? 'no keys' : 'counting...', 10, 20); }
  canvas.dataset.points = String(entries.length);
}

function update(stats) {
  const seconds = previous ? Math.max(0.001, (stats.nowMs - previous.nowMs) / 1000) : 0;
  times.push(stats.nowMs);
  if (times.length > HISTORY) times.shift();
  if (previous) {
    const before = new Map(previous.commands.map((c) => [c.name, c]));
    for (const command of stats.commands) {
      const old = before.get(command.name) || { calls: 0, usec: 0 };
      const calls = command.calls - old.calls;
      if (calls < 0) continue;
      record(series.ops, command.name, calls / seconds);
      record(series.latency, command.name, calls > 0 ? (command.usec - old.usec) / calls : null);
    }
    record(series.ae, 'received', Math.max(0, stats.antiEntropy.keysReceived - previous.antiEntropy.keysReceived) / seconds);
    record(series.ae, 'sent', Math.max(0, stats.antiEntropy.keysSent - previous.antiEntropy.keysSent) / seconds);
  }
  for (const peer of stats.replication) record(series.lag, peer.name, peer.lagMs);
  for (const map of Object.values(series)) pad(map);
  memberHistory.push(stats.members.map((m) => ({ id: m.id, name: m.name, state: m.state })));
  if (memberHistory.length > HISTORY) memberHistory.shift();
  previous = stats;

  document.getElementById('node').textContent = stats.nodeName + ' (' + stats.nodeId.slice(0, 8) + ')';
  const alive = stats.members.filter((m) => m.state === 'alive').length;
  document.getElementById('summary').textContent = stats.keys + ' keys · ' + alive + ' of ' + stats.members.length + ' members alive' + (stats.resyncActive ? ' · catching up (reads refused)' : '');
  document.getElementById('error').textContent = '';
  document.querySelector('#members tbody').innerHTML = stats.members.map((m) =>
    '<tr data-name="' + esc(m.name) + '"><td>' + esc(m.name) + '</td><td>' + esc(m.id.slice(0, 8)) + '</td><td>' + esc(m.addr) +
    '</td><td class="state state-' + esc(m.state) + '">' + esc(m.state) + '</td><td>' + (m.lastSeenAgoMs === undefined ? '-' : esc(m.lastSeenAgoMs) + ' ms ago') + '</td></tr>').join('');
  document.querySelector('#sync tbody').innerHTML = stats.sync.map((s) =>
    '<tr><td>' + esc(s.name) + '</td><td>' + (s.inProgress ? 'running' : 'idle') + '</td><td>' + s.keysReceived + '</td><td>' + s.keysSent + '</td><td>' + s.rounds + '</td></tr>').join('');
  document.getElementById('types-note').textContent = stats.keysByType ? 'counted by a walk over the keyspace, last complete ' + new Date(stats.keysByTypeAsOfMs).toLocaleTimeString() : 'first count under way';
  draw();
}

let lastTypes = null;
function draw() {
  drawLines(document.getElementById('chart-ops'), series.ops);
  drawLines(document.getElementById('chart-latency'), series.latency);
  drawLines(document.getElementById('chart-lag'), series.lag);
  drawLines(document.getElementById('chart-ae'), series.ae);
  drawMembers(document.getElementById('chart-members'));
  if (previous && previous.keysByType) lastTypes = previous.keysByType;
  drawBars(document.getElementById('chart-types'), lastTypes);
  window.peerkvDashboard = { polls: (window.peerkvDashboard ? window.peerkvDashboard.polls : 0) + 1 };
}

async function poll() {
  try {
    const response = await fetch('stats', { cache: 'no-store' });
    update(await response.json());
  } catch (error) {
    document.getElementById('error').textContent = 'node unreachable: ' + error;
  }
  setTimeout(poll, interval);
}
window.addEventListener('resize', () => { if (previous) draw(); });
poll();
</script></body></html>`;
