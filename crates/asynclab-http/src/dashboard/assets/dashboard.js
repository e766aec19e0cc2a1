// asynclab's live dashboard. Plain JavaScript, no library: an EventSource
// reads GET /dashboard/stream (one JSON snapshot per interval), the figures are
// written as text, and two small canvas charts keep the last two minutes.
// With the control API on, the token pasted into the page is kept in a
// variable only (never stored), and sent as a Bearer header to /control.
'use strict';

const HISTORY = 120; // points kept per chart: memory stays bounded however long the page is open
const history = { rps: [], err: [], p50: [], p90: [], p99: [] };
let token = null;
let current = null; // the control API's settings, as GET /control last said

const $ = (id) => document.getElementById(id);

function show(id, text) {
  const el = $(id);
  if (el && el.textContent !== text) el.textContent = text;
}

function num(x, digits = 1) {
  if (x === null || x === undefined) return '–';
  return Number(x).toLocaleString('en', { maximumFractionDigits: digits });
}

function duration(secs) {
  const s = Math.floor(secs);
  const [d, h, m] = [Math.floor(s / 86400), Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60];
  return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + (s % 60) + 's';
}

function push(name, value) {
  const points = history[name];
  points.push(value);
  if (points.length > HISTORY) points.shift();
}

// A line chart of some of `history`: one line per series, told apart by its
// dash pattern (not by colour alone), with a labelled y axis.
function chart(id, lines, unit) {
  const canvas = $(id);
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 160;
  if (canvas.width !== Math.round(width * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const left = 48, top = 8, bottom = height - 18, right = width - 8;
  let max = 0;
  for (const line of lines) for (const v of history[line.key]) max = Math.max(max, v || 0);
  max = nice(max);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#444';
  ctx.strokeStyle = '#ddd';
  ctx.lineWidth = 1;
  ctx.setLineDash([]);
  for (let i = 0; i <= 4; i++) {
    const y = bottom - ((bottom - top) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(right, y);
    ctx.stroke();
    ctx.fillText(num((max * i) / 4, 2), 4, y + 4);
  }
  ctx.fillText(unit + ' · last ' + HISTORY + ' points', left, height - 4);
  const step = (right - left) / (HISTORY - 1);
  for (const line of lines) {
    const points = history[line.key];
    const start = HISTORY - points.length;
    ctx.strokeStyle = line.colour;
    ctx.lineWidth = 2;
    ctx.setLineDash(line.dash);
    ctx.beginPath();
    let drawing = false;
    points.forEach((v, i) => {
      if (v === null) { drawing = false; return; }
      const x = left + (start + i) * step;
      const y = bottom - ((bottom - top) * v) / max;
      if (drawing) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      drawing = true;
    });
    ctx.stroke();
  }
}

// The next round number at or above `x` (1, 2, 5 × a power of ten).
function nice(x) {
  if (!(x > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) if (x <= m * power) return m * power;
  return 10 * power;
}

function render(s) {
  show('version', s.identity.version);
  show('hostname', s.identity.hostname);
  show('uptime', duration(s.identity.uptime_secs));
  const r = s.requests;
  show('rps', num(r.per_sec));
  for (const c of ['2xx', '3xx', '4xx', '5xx']) show('class-' + c, num(r.by_class[c]));
  show('in-flight', num(s.in_flight, 0));
  const ms = (x) => (x === null ? '–' : num(x, 2) + ' ms');
  show('p50', ms(s.latency_ms.p50));
  show('p90', ms(s.latency_ms.p90));
  show('p99', ms(s.latency_ms.p99));

  if (s.interval_secs > 0) {
    push('rps', r.per_sec);
    push('err', r.by_class['5xx']);
    for (const p of ['p50', 'p90', 'p99']) push(p, s.latency_ms[p]);
    chart('chart-rate', [
      { key: 'rps', dash: [], colour: '#1f4e99' },
      { key: 'err', dash: [6, 4], colour: '#b3261e' },
    ], 'requests/s');
    chart('chart-latency', [
      { key: 'p50', dash: [], colour: '#1f4e99' },
      { key: 'p90', dash: [6, 4], colour: '#6b4c00' },
      { key: 'p99', dash: [2, 3], colour: '#b3261e' },
    ], 'ms');
    $('chart-rate').setAttribute('aria-label', `requests per second, now ${num(r.per_sec)} (5xx: ${num(r.by_class['5xx'])})`);
  }

  const rows = r.by_route.map((route) => {
    const tr = document.createElement('tr');
    const name = document.createElement('td');
    const rate = document.createElement('td');
    name.textContent = route.route;
    rate.textContent = num(route.per_sec);
    rate.className = 'num';
    tr.append(name, rate);
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = 2;
    td.textContent = 'no requests in the last interval';
    tr.append(td);
    rows.push(tr);
  }
  $('routes').replaceChildren(...rows);

  const c = s.connections;
  show('conn-http', num(c.http, 0));
  show('conn-tls', num(c.tls, 0));
  show('conn-ws', num(c.websocket, 0));
  show('conn-echo', c.echo === null ? 'not running' : num(c.echo, 0));
  show('conn-dash', num(c.dashboards, 0));

  const l = s.limited;
  const meter = $('limited-meter');
  meter.max = l.permits;
  meter.value = l.in_use;
  show('limited-use', `${l.in_use} of ${l.permits}`);
  show('limited-permits', num(l.permits, 0));
  show('limited-waiters', num(l.waiters, 0));
  show('limited-full', num(l.queue_full, 0));
  show('limited-timeouts', num(l.queue_timeouts, 0));
  show('limited-rps', num(l.rejected_per_sec));

  const h = s.health;
  show('ready', h.ready ? '✓ ready' : '✗ not ready' + (h.shutting_down ? ' (shutting down)' : ''));
  show('live', h.live ? '✓ live' : '✗ failing');
  show('readiness', h.readiness);
  $('ready').className = h.ready ? 'ok' : 'bad';
  $('live').className = h.live ? 'ok' : 'bad';

  const f = s.faults;
  show('fault-errors', f.settings.errors || 'none');
  show('fault-delays', f.settings.delays || 'none');
  show('fault-jitter', f.settings.jitter || 'none');
  show('fault-abort', num(f.settings.abort));
  show('fired-error', num(f.injected.error, 0));
  show('fired-delay', num(f.injected.delay, 0));
  show('fired-abort', num(f.injected.abort, 0));
  show('fired-rps', num(s.errors_injected_per_sec));

  $('control').hidden = !s.control;
}

function connect() {
  const feed = new EventSource('dashboard/stream');
  feed.addEventListener('snapshot', (e) => {
    show('feed', 'live');
    render(JSON.parse(e.data));
  });
  feed.addEventListener('shutdown', () => show('feed', 'server shutting down; reconnecting…'));
  feed.addEventListener('error', () => {
    show('feed', 'disconnected; reconnecting…');
    // The browser retries a dropped stream by itself, but not one refused
    // (a 503 while the server shuts down, or too many dashboards): try again later.
    if (feed.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
  });
}

// --- the control API ---------------------------------------------------------

async function control(method, body) {
  const headers = { Authorization: 'Bearer ' + token };
  if (body) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  const res = await fetch('control', { method, headers, body, cache: 'no-store' });
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status}: ${text.trim()}`);
  return JSON.parse(text);
}

function fill(state) {
  current = state.now;
  for (const field of $('control-form').querySelectorAll('[name]')) {
    const value = current[field.name];
    field.value = value === null || value === undefined ? '' : String(value);
  }
}

function say(text) {
  show('control-status', text);
}

async function unlock(event) {
  event.preventDefault();
  token = $('token').value.trim();
  $('token').value = '';
  try {
    fill(await control('GET'));
    $('unlock-form').hidden = true;
    $('control-form').hidden = false;
    say('Unlocked: changes apply at once.');
    $('c-readiness').focus();
  } catch (e) {
    token = null;
    say('Refused: ' + e.message);
  }
}

async function apply(event) {
  event.preventDefault();
  const changes = new URLSearchParams();
  for (const field of $('control-form').querySelectorAll('[name]')) {
    if (String(current[field.name] ?? '') !== field.value) changes.append(field.name, field.value);
  }
  if ([...changes].length === 0) return say('Nothing changed.');
  try {
    fill(await control('POST', changes.toString()));
    say('Applied: ' + [...changes].map(([k, v]) => `${k}=${v}`).join(' '));
  } catch (e) {
    say('Refused: ' + e.message);
  }
}

async function reset() {
  try {
    fill(await control('DELETE'));
    say('Back to the configured values.');
  } catch (e) {
    say('Refused: ' + e.message);
  }
}

function forget() {
  token = null;
  current = null;
  $('control-form').hidden = true;
  $('unlock-form').hidden = false;
  say('Token forgotten.');
}

document.addEventListener('DOMContentLoaded', () => {
  $('unlock-form').addEventListener('submit', unlock);
  $('control-form').addEventListener('submit', apply);
  $('reset').addEventListener('click', reset);
  $('forget').addEventListener('click', forget);
  connect();
});
