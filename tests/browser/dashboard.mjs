// The dashboard in a real browser: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core, against the real `asynclab` binary.
//
//   cd tests/browser && npm ci && node dashboard.mjs    (.ci/run does this)
//
// It starts `asynclab serve` on free ports with a control token, opens
// /dashboard, runs `asynclab load` against the server and waits for the
// requests/s figure to rise above zero, pastes the token, sets an error fault
// through the page and waits for the 5xx figure to move, and writes a
// screenshot to target/dashboard.png. Any console error fails it. It skips,
// loudly, only when Chromium cannot run at all on this machine.
// ASYNCLAB_BIN names the binary (default: target/debug/asynclab, built by cargo test;
// CARGO_TARGET_DIR is honoured); DASHBOARD_SCREENSHOT where the picture goes.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
const BIN = process.env.ASYNCLAB_BIN || join(TARGET, 'debug', 'asynclab');
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'browser-test-token-0123456789';
const SHOT = process.env.DASHBOARD_SCREENSHOT || join(TARGET, 'dashboard.png');
// How long the page runs under the fault before the screenshot (longer for the
// picture in docs/dashboard.md, whose charts want some history).
const SETTLE_MS = Number(process.env.DASHBOARD_SETTLE_MS || 2000);
// The whole test, bounded: the children are stopped and the test fails after this.
const DEADLINE_MS = 90_000;
// Each wait for a figure to move.
const WAIT_MS = 20_000;

const children = [];

function fail(message) {
  console.error(`dashboard browser test FAILED: ${message}`);
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  process.exit(1);
}

function chromiumRuns() {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} does not exist`;
  const run = spawnSync(CHROMIUM, ['--headless', '--no-sandbox', '--version'], { timeout: 20_000 });
  if (run.error || run.status !== 0) return `${CHROMIUM} --version failed: ${run.error || run.stderr}`;
  return null;
}

// `asynclab serve` on free ports; resolves with the HTTP address from the
// JSON `asynclab started` log event.
function startServer() {
  const server = spawn(BIN, [
    'serve', '--log-format', 'json',
    '--set', 'http.addr=127.0.0.1:0', '--set', 'echo.addr=127.0.0.1:0',
  ], { env: { ...process.env, ASYNCLAB_CONTROL__TOKEN: TOKEN }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(server);
  const logs = [];
  return new Promise((done) => {
    const timer = setTimeout(() => fail(`no "asynclab started" within 20s:\n${logs.join('\n')}`), 20_000);
    server.on('exit', (code) => fail(`asynclab serve exited early (${code}):\n${logs.join('\n')}`));
    createInterface({ input: server.stderr }).on('line', (line) => {
      logs.push(line);
      let event;
      try { event = JSON.parse(line); } catch { return; }
      if (event.message === 'asynclab started') {
        clearTimeout(timer);
        server.removeAllListeners('exit');
        done({ server, http: event.http });
      }
    });
  });
}

// The number a figure shows ("1,234.5" → 1234.5; "–" → 0).
async function figure(page, id) {
  const text = await page.locator('#' + id).textContent();
  const n = Number(text.replace(/,/g, ''));
  return Number.isFinite(n) ? n : 0;
}

async function waitFor(page, id, what) {
  const until = Date.now() + WAIT_MS;
  while (Date.now() < until) {
    const n = await figure(page, id);
    if (n > 0) return n;
    await page.waitForTimeout(250);
  }
  fail(`#${id} stayed at zero for ${WAIT_MS / 1000}s: ${what}`);
}

async function main() {
  const why = chromiumRuns();
  if (why) {
    console.error('#'.repeat(78));
    console.error(`# SKIPPED the dashboard browser test: Chromium cannot run here (${why}).`);
    console.error('#'.repeat(78));
    return;
  }
  if (!existsSync(BIN)) fail(`no binary at ${BIN}: run cargo build (or cargo test) first, or set ASYNCLAB_BIN`);
  const { chromium } = await import('playwright-core');
  setTimeout(() => fail(`not done within ${DEADLINE_MS / 1000}s`), DEADLINE_MS).unref();

  const { server, http } = await startServer();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(String(error)));

  const res = await page.goto(`${http}/dashboard`);
  if (res.status() !== 200) fail(`GET /dashboard answered ${res.status()}`);
  await page.locator('#feed', { hasText: 'live' }).waitFor({ timeout: WAIT_MS });

  // Load at a steady rate, long enough for both checks below.
  const load = spawn(BIN, ['load', '-r', '100', '-d', '40s', '--log-level', 'warn', `${http}/fast`],
    { stdio: 'ignore' });
  children.push(load);
  const rps = await waitFor(page, 'rps', 'asynclab load runs against the server');
  console.log(`requests/s shown under load: ${rps}`);

  // The control panel: the token, then a fault.
  await page.locator('#control').waitFor({ state: 'visible', timeout: WAIT_MS });
  await page.fill('#token', TOKEN);
  await page.click('#unlock');
  await page.locator('#control-form').waitFor({ state: 'visible', timeout: WAIT_MS });
  await page.fill('#c-errors', '503:50');
  await page.click('#apply');
  await page.locator('#control-status', { hasText: 'Applied' }).waitFor({ timeout: WAIT_MS });
  const errorsPerSec = await waitFor(page, 'class-5xx', 'the fault set through the page');
  await waitFor(page, 'fired-error', 'the faults fired');
  console.log(`5xx/s shown after setting http.faults.errors=503:50: ${errorsPerSec}`);
  // Let the charts draw a few points with the errors in them.
  await page.waitForTimeout(SETTLE_MS);
  await page.screenshot({ path: SHOT, fullPage: true });
  console.log(`screenshot: ${SHOT}`);

  if (errors.length > 0) fail(`console errors:\n${errors.join('\n')}`);
  await browser.close();
  load.kill('SIGTERM');
  server.kill('SIGTERM');
  const code = await new Promise((done) => server.on('exit', done));
  if (code !== 0) fail(`asynclab serve exited with ${code} after SIGTERM`);
  console.log('dashboard browser test passed');
}

main().catch((error) => fail(error.stack || String(error)));
