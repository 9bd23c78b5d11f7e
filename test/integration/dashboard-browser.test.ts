// Proves the dashboard a node serves on --http-port works in a real browser (headless Debian chromium through playwright-core): it loads with nothing from outside the node, its charts draw (ops/s and latency per command, members over time, keys per type), and a member killed with SIGKILL turns dead on the page within seconds.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { RespClient } from '../../src/cli/client.js';
import { adminHttpPort, cleanupAll, freeDiscoveryPort, redisCli, spawnNode, waitFor } from '../support/processes.js';

after(cleanupAll);

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  process.stderr.write(`\n*** WARNING: ${CHROMIUM} is absent: the dashboard browser test is SKIPPED (apt-get install chromium; .ci/run does) ***\n\n`);
}

test('dashboard: loads self-contained, draws its charts, shows a killed member dead', { skip: HAVE_CHROMIUM ? false : `${CHROMIUM} absent`, timeout: 120_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const discoveryPort = await freeDiscoveryPort();
  const a = await spawnNode({ discoveryPort, extraArgs: ['--name', 'dash-a', '--http-port', '0'] });
  const httpPort = await adminHttpPort(a);
  const b = await spawnNode({ discoveryPort, extraArgs: ['--name', 'dash-b'] });
  await waitFor(() => /members_alive:2/.test(redisCli(a.port, ['info', 'cluster'])), { timeoutMs: 15_000, what: 'two members alive' });
  for (const type of [['set', 's', 'v'], ['hset', 'h', 'f', 'v'], ['sadd', 'st', 'm'], ['zadd', 'z', '1', 'm'], ['rpush', 'l', 'e']]) redisCli(a.port, type);

  const client = await RespClient.connect({ host: '127.0.0.1', port: a.port, timeoutMs: 5_000 });
  let counter = 0;
  const load = setInterval(() => {
    void client.command(['SET', `k${counter % 50}`, String(counter)]).catch(() => undefined);
    void client.command(['GET', `k${counter++ % 50}`]).catch(() => undefined);
  }, 5);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    const base = `http://127.0.0.1:${httpPort}`;
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${base}/?interval=250`);
    assert.equal(await page.title(), 'peerkv');
    // (Page-side code as strings: this project compiles without the DOM library.)
    const points = (id: string) => `Number(document.getElementById('${id}').dataset.points || 0)`;
    await page.waitForFunction(`${points('chart-ops')} > 4 && ${points('chart-latency')} > 2 && ${points('chart-members')} > 4 && ${points('chart-types')} >= 5`, undefined, { timeout: 20_000 });
    // The canvases hold pixels, not just counts.
    const painted = await page.evaluate(`['chart-ops', 'chart-latency', 'chart-members', 'chart-types'].map((id) => {
      const canvas = document.getElementById(id);
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let count = 0;
      for (let index = 3; index < data.length; index += 4) if (data[index] > 0) count++;
      return count;
    })`) as number[];
    for (const pixels of painted) assert.ok(pixels > 200, `painted pixels ${painted.join(', ')}`);
    assert.ok(await page.evaluate(`${points('chart-lag')} >= 0 && ${points('chart-ae')} >= 0`));
    assert.match(await page.locator('#members tr[data-name="dash-b"] td.state').innerText(), /alive/);

    const killedAtMs = Date.now();
    await b.stop('SIGKILL');
    await page.waitForSelector('#members tr[data-name="dash-b"] td.state-dead', { timeout: 20_000 });
    const seconds = (Date.now() - killedAtMs) / 1000;
    assert.ok(seconds < 15, `dead on the page after ${seconds} s`);
    assert.deepEqual(requests.filter((url) => !url.startsWith(base)), [], 'nothing is loaded from outside the node');
    assert.deepEqual(pageErrors, []);
  } finally {
    clearInterval(load);
    client.close();
    await browser.close();
  }
  assert.equal(await a.stop(), 0);
});
