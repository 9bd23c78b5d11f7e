// Admin HTTP port (--http-port): Prometheus metrics, a health check, INFO as JSON and a
// small self-refreshing dashboard. Read-only; binds to the node's --bind address.
import { createServer, type Server } from 'node:http';
import { Registry, Gauge } from 'prom-client';
import type { CommandStatsEntry } from '../server/command-stats.js';
import type { Engine } from '../server/engine.js';

export interface AdminHttpOptions {
  readonly host: string;
  readonly port: number;
  readonly engine: Engine;
  /** Per-command calls and handler time (the dashboard's ops/s and latency charts). */
  readonly commandStats?: () => CommandStatsEntry[];
  /** Present only with --allow-partition: POST /partition and /heal call it. */
  readonly partition?: (on: boolean) => void;
}

export interface AdminHttp {
  readonly port: number;
  close(): Promise<void>;
}

function metricName(counter: string): string {
  return `peerkv_${counter.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** The Prometheus registry and the function that fills it from engine.info() at scrape time. */
function createMetrics(engine: Engine): { registry: Registry; collect: () => void } {
  const registry = new Registry();
  const members = new Gauge({ name: 'peerkv_members', help: 'Members by state, counting this node', labelNames: ['state'], registers: [registry] });
  const keys = new Gauge({ name: 'peerkv_keys', help: 'Live keys stored on this node', registers: [registry] });
  const counters = new Gauge({ name: 'peerkv_counter', help: 'Totals since start (see INFO)', labelNames: ['name'], registers: [registry] });
  const rss = new Gauge({ name: 'peerkv_resident_memory_bytes', help: 'Resident set size of the node process', registers: [registry] });
  const collect = () => {
    const info = engine.info();
    members.reset();
    for (const state of ['alive', 'suspect', 'dead']) members.set({ state }, info.members.filter((member) => member.state === state).length);
    keys.set(info.keys);
    counters.reset();
    for (const [name, value] of Object.entries(info.counters)) counters.set({ name: metricName(name) }, value);
    rss.set(process.memoryUsage().rss);
  };
  return { registry, collect };
}

const DASHBOARD_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>peerkv</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}
.alive{color:#087f23}.suspect{color:#b26a00}.dead{color:#b00020}h1{font-size:20px}</style></head>
<body><h1>peerkv <span id="name"></span></h1><p id="summary"></p>
<h2>Members</h2><table id="members"><thead><tr><th>name</th><th>id</th><th>address</th><th>state</th><th>last seen</th></tr></thead><tbody></tbody></table>
<h2>Anti-entropy</h2><table id="sync"><thead><tr><th>peer</th><th>in progress</th><th>keys sent</th><th>keys received</th><th>rounds</th></tr></thead><tbody></tbody></table>
<script>
function esc(s){return String(s).replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]))}
async function refresh(){try{const r=await fetch('info');const i=await r.json();
document.getElementById('name').textContent=i.nodeName+' ('+i.nodeId.slice(0,8)+')';
document.getElementById('summary').textContent=i.keys+' keys, '+i.members.filter(m=>m.state==='alive').length+' of '+i.members.length+' members alive';
document.querySelector('#members tbody').innerHTML=i.members.map(m=>'<tr><td>'+esc(m.name)+'</td><td>'+esc(m.id.slice(0,8))+'</td><td>'+esc(m.addr)+'</td><td class="'+esc(m.state)+'">'+esc(m.state)+'</td><td>'+esc(m.lastSeenAgoMs)+' ms ago</td></tr>').join('');
document.querySelector('#sync tbody').innerHTML=i.sync.map(s=>'<tr><td>'+esc(s.peer.slice(0,8))+'</td><td>'+(s.inProgress?'yes':'no')+'</td><td>'+s.keysSent+'</td><td>'+s.keysReceived+'</td><td>'+s.rounds+'</td></tr>').join('');
}catch(e){document.getElementById('summary').textContent='node unreachable: '+e}}
refresh();setInterval(refresh,1000);
</script></body></html>`;

export async function startAdminHttp(options: AdminHttpOptions): Promise<AdminHttp> {
  const { engine } = options;
  const { registry, collect } = createMetrics(engine);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method === 'POST' && (path === '/partition' || path === '/heal')) {
      if (options.partition === undefined) return send(403, 'text/plain', 'start the node with --allow-partition to use /partition and /heal\n');
      options.partition(path === '/partition');
      return send(200, 'application/json', JSON.stringify({ partitioned: path === '/partition' }));
    }
    if (request.method !== 'GET') return send(405, 'text/plain', 'only GET (POST /partition and /heal with --allow-partition)\n');
    if (path === '/health') {
      const info = engine.info();
      return send(200, 'application/json', JSON.stringify({ status: 'ok', nodeId: info.nodeId, membersAlive: info.members.filter((m) => m.state === 'alive').length }));
    }
    if (path === '/info') {
      const info = engine.info();
      const nowMs = engine.nowMs();
      const members = info.members.map((member) => ({ ...member, lastSeenAgoMs: Math.max(0, Math.round(nowMs - member.lastSeenMs)) }));
      return send(200, 'application/json', JSON.stringify({ ...info, members }));
    }
    if (path === '/metrics') {
      collect();
      registry.metrics().then((text) => send(200, registry.contentType, text), (error: unknown) => send(500, 'text/plain', String(error)));
      return;
    }
    if (path === '/' || path === '/dashboard') return send(200, 'text/html; charset=utf-8', DASHBOARD_HTML);
    return send(404, 'text/plain', 'not found: try /, /health, /info or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
