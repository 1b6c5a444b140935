// SPDX-License-Identifier: Apache-2.0
// dashboard.js -- polls /api/pipeline every second and draws the charts on canvases; lists the
// latest users and finds one by id. Vanilla JS, no dependencies, nothing fetched from elsewhere.
'use strict';

const WINDOW_MS = 5 * 60 * 1000;   // what the charts show
const NATS = ['AU', 'BR', 'CA', 'CH', 'DE', 'DK', 'ES', 'FI', 'FR', 'GB', 'IE', 'IN', 'IR',
  'MX', 'NL', 'NO', 'NZ', 'RS', 'TR', 'UA', 'US'];
const css = getComputedStyle(document.documentElement);
const color = (v) => css.getPropertyValue(v).trim();

const state = { samples: [], lastT: 0, updates: 0 };
const $ = (id) => document.getElementById(id);

// ---- the API token --------------------------------------------------------------------------
// When spate serve has a token (serve.token), the page is opened once as /#token=TOKEN: the
// fragment never reaches a server or a log; the token moves to this tab's sessionStorage and
// leaves the address bar and the history at once. Every /api/ call sends it as a bearer token.
const TOKEN_KEY = 'spate.token';
(function takeToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  try { sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1])); } catch (e) { /* private mode */ }
  history.replaceState(null, '', location.pathname + location.search);
})();

function api(path) {
  const headers = {};
  let token = null;
  try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* none */ }
  if (token) headers.Authorization = 'Bearer ' + token;
  return fetch(path, { cache: 'no-store', headers });
}

function needToken(r) {
  if (r.status !== 401) return false;
  $('clock').textContent = 'this server needs a token: open the dashboard as /#token=TOKEN';
  return true;
}

// ---- numbers -------------------------------------------------------------------------------

function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  return v.toFixed(digits === undefined ? (a < 10 && v % 1 ? 1 : 0) : digits);
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// ---- a line chart on a canvas -------------------------------------------------------------

function drawChart(canvas, series, now) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const left = 52, right = 10, top = 18, bottom = 20;
  const pw = w - left - right, ph = h - top - bottom;
  const t0 = now - WINDOW_MS;
  let max = 0, points = 0, lastT = 0;
  for (const s of series)
    for (const [t, v] of s.points)
      if (t >= t0 && v !== null) { if (v > max) max = v; points++; if (t > lastT) lastT = t; }
  max = niceMax(max * 1.1);
  const x = (t) => left + ((t - t0) / WINDOW_MS) * pw;
  const y = (v) => top + ph - (v / max) * ph;

  g.font = '11px system-ui, sans-serif';
  g.strokeStyle = color('--line');
  g.fillStyle = color('--muted');
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4, yy = Math.round(y(v)) + 0.5;
    g.beginPath(); g.moveTo(left, yy); g.lineTo(left + pw, yy); g.stroke();
    g.fillText(max < 4 ? String(+v.toFixed(2)) : fmt(v), left - 6, yy);
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (let m = 0; m <= 5; m++) {
    const t = now - m * 60000;
    g.fillText(m === 0 ? 'now' : '-' + m + 'm', Math.min(x(t), left + pw - 10), top + ph + 5);
  }
  // legend
  let lx = left;
  g.textAlign = 'left';
  g.textBaseline = 'top';
  for (const s of series) {
    g.fillStyle = s.color;
    g.fillRect(lx, 3, 10, 10);
    g.fillStyle = color('--text');
    const last = s.points.length ? s.points[s.points.length - 1][1] : null;
    const label = s.name + ' ' + fmt(last);
    g.fillText(label, lx + 14, 2);
    lx += g.measureText(label).width + 28;
  }
  // lines; a null breaks the line (stage down or value unknown)
  g.save();
  g.beginPath(); g.rect(left, top - 2, pw, ph + 4); g.clip();
  for (const s of series) {
    g.strokeStyle = s.color;
    g.lineWidth = 1.8;
    g.beginPath();
    let pen = false;
    for (const [t, v] of s.points) {
      if (t < t0 - 2000 || v === null) { pen = false; continue; }
      if (pen) g.lineTo(x(t), y(v)); else { g.moveTo(x(t), y(v)); pen = true; }
    }
    g.stroke();
  }
  g.restore();
  if (!points) {
    g.fillStyle = color('--muted');
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText('no data yet', left + pw / 2, top + ph / 2);
  }
  canvas.dataset.samples = String(points);
  canvas.dataset.last = String(lastT);
}

function seriesOf(key) {
  return state.samples.map((s) => [s.t, s[key] === undefined ? null : s[key]]);
}

function drawAll() {
  const now = Date.now();
  drawChart($('c-throughput'), [
    { name: 'ingest', color: color('--c1'), points: seriesOf('r_ingest') },
    { name: 'process', color: color('--c2'), points: seriesOf('r_process') },
    { name: 'sink', color: color('--c3'), points: seriesOf('r_sink') },
  ], now);
  drawChart($('c-latency'), [
    { name: 'p50', color: color('--c3'), points: seriesOf('p50') },
    { name: 'p90', color: color('--c2'), points: seriesOf('p90') },
    { name: 'p99', color: color('--c4'), points: seriesOf('p99') },
  ], now);
  drawChart($('c-lag'), [
    { name: 'spark', color: color('--c2'), points: seriesOf('lag_spark') },
    { name: 'sink', color: color('--c5'), points: seriesOf('lag') },
  ], now);
  drawChart($('c-dlq'), [
    { name: 'ingest', color: color('--c1'), points: seriesOf('dlq_ingest') },
    { name: 'process', color: color('--c2'), points: seriesOf('dlq_process') },
    { name: 'sink', color: color('--c4'), points: seriesOf('dlq_sink') },
  ], now);
}

// ---- the pipeline poll -----------------------------------------------------------------------

function setPill(id, up) {
  const el = $(id);
  el.classList.toggle('up', up === true);
  el.classList.toggle('down', up === false);
}

// The waterfall: the hops share one scale, the largest p99, so the widest bar
// is the hop that holds the time.
function showHops(hops) {
  if (!hops) return;
  const names = ['ingest', 'process', 'sink'];
  let top = 1;
  for (const n of names) {
    const h = hops[n];
    if (h && h.p99 !== null && h.p99 > top) top = h.p99;
  }
  for (const n of names) {
    const h = hops[n] || {};
    const row = $('hop-' + n);
    const pct = (v) => (v === null || v === undefined ? 0 : Math.min(100, (100 * v) / top));
    row.querySelector('.bar').style.width = pct(h.p50) + '%';
    row.querySelector('.tick').style.left = pct(h.p99) + '%';
    row.querySelector('.ms').textContent = fmt(h.p50) + ' / ' + fmt(h.p99);
    row.dataset.p50 = h.p50 === null || h.p50 === undefined ? '' : String(h.p50);
  }
}

function showLatest(s) {
  if (!s) return;
  $('k-ingest').textContent = fmt(s.r_ingest);
  $('k-process').textContent = fmt(s.r_process);
  $('k-sink').textContent = fmt(s.r_sink);
  $('k-latency').textContent = fmt(s.p50) + ' / ' + fmt(s.p99);
  $('k-lag').textContent = fmt(s.lag_spark) + ' / ' + fmt(s.lag);
  $('k-dlq').textContent = fmt(s.dlq_ingest) + ' / ' + fmt(s.dlq_process) + ' / ' + fmt(s.dlq_sink);
  $('k-totals').textContent = fmt(s.raw) + ' / ' + fmt(s.clean) + ' / ' + fmt(s.stored);
  showHops(s.hops);
  setPill('up-ingest', s.up.ingest);
  setPill('up-sink', s.up.sink);
  setPill('up-kafka', s.up.kafka);
}

// One row per pipeline when the config has several (serve reports each by name).
function showPipelines(all) {
  const names = all ? Object.keys(all) : [];
  $('per-pipeline').hidden = names.length < 2;
  const body = $('pipelines').querySelector('tbody');
  body.textContent = '';
  if (names.length < 2) return;
  for (const n of names) {
    const s = all[n].latest;
    const tr = document.createElement('tr');
    tr.dataset.pipeline = n;
    cell(tr, n);
    if (!s) {
      cell(tr, 'not sampled here (spate --pipeline ' + n + ' serve)');
    } else {
      cell(tr, fmt(s.r_sink));
      cell(tr, fmt(s.raw));
      cell(tr, fmt(s.clean));
      cell(tr, fmt(s.stored));
      cell(tr, fmt(s.dlq));
      cell(tr, fmt(s.lag_spark) + ' / ' + fmt(s.lag));
    }
    body.appendChild(tr);
  }
}

async function pollPipeline() {
  try {
    const r = await api('/api/pipeline?since=' + state.lastT);
    if (needToken(r)) return;
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const doc = await r.json();
    for (const s of doc.history) {
      if (s.t > state.lastT) { state.samples.push(s); state.lastT = s.t; }
    }
    const cutoff = Date.now() - WINDOW_MS - 5000;
    while (state.samples.length && state.samples[0].t < cutoff) state.samples.shift();
    showLatest(doc.latest);
    showPipelines(doc.pipelines);
    state.updates++;
    const clock = $('clock');
    clock.dataset.updates = String(state.updates);
    clock.textContent = 'updated ' + new Date(doc.now).toISOString().slice(11, 19) + ' UTC';
  } catch (e) {
    $('clock').textContent = 'server unreachable (' + e.message + ')';
  }
  drawAll();
}

// ---- users --------------------------------------------------------------------------------------

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '–' : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function timeOf(s) {
  return s ? String(s).replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '') : '–';
}

async function health() {
  try {
    const r = await fetch('/health', { cache: 'no-store' });
    const h = await r.json();
    setPill('up-cassandra', h.cassandra === 'up');
  } catch (e) { setPill('up-cassandra', false); }
}

async function loadUsers() {
  const nat = $('nat').value;
  const err = $('users-error');
  try {
    const r = await api('/api/users?limit=15' + (nat ? '&nationality=' + nat : ''));
    const doc = await r.json();
    if (!r.ok) throw new Error(doc.error ? doc.error.message : 'HTTP ' + r.status);
    const tbody = $('users').tBodies[0];
    const rows = [];
    for (const u of doc.users) {
      const tr = document.createElement('tr');
      tr.dataset.id = u.user_id;
      cell(tr, timeOf(u.ingested_at));
      cell(tr, u.user_id, 'id');
      cell(tr, [u.first_name, u.last_name].filter(Boolean).join(' '));
      cell(tr, u.gender);
      cell(tr, u.age);
      cell(tr, u.city);
      cell(tr, u.country);
      tr.addEventListener('click', () => { $('user-id').value = u.user_id; findUser(); });
      rows.push(tr);
    }
    tbody.replaceChildren(...rows);
    err.hidden = true;
    setPill('up-cassandra', true);
  } catch (e) {
    err.textContent = 'latest users: ' + e.message;
    err.hidden = false;
  }
  health();
}

async function findUser() {
  const id = $('user-id').value.trim();
  const box = $('user-result');
  box.replaceChildren();
  box.hidden = false;
  if (!id) { box.hidden = true; return; }
  try {
    const r = await api('/api/users/' + encodeURIComponent(id));
    const doc = await r.json();
    if (!r.ok) throw new Error(doc.error ? doc.error.message : 'HTTP ' + r.status);
    box.classList.remove('error');
    box.dataset.found = doc.user.user_id;
    for (const [k, v] of Object.entries(doc.user)) {
      const div = document.createElement('div');
      const key = document.createElement('span');
      key.className = 'k';
      key.textContent = k;
      div.append(key, ' ', v === null ? '–' : String(v));
      div.dataset.field = k;
      box.appendChild(div);
    }
  } catch (e) {
    box.classList.add('error');
    box.dataset.found = '';
    const div = document.createElement('div');
    div.id = 'user-error';
    div.textContent = e.message;
    box.appendChild(div);
  }
  const close = document.createElement('div');
  close.className = 'close';
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = 'close';
  b.addEventListener('click', () => { box.hidden = true; });
  close.appendChild(b);
  box.appendChild(close);
}

// ---- start ------------------------------------------------------------------------------------------

function start() {
  const sel = $('nat');
  for (const n of NATS) {
    const o = document.createElement('option');
    o.value = n; o.textContent = n;
    sel.appendChild(o);
  }
  sel.addEventListener('change', loadUsers);
  $('search').addEventListener('submit', (e) => { e.preventDefault(); findUser(); });
  window.addEventListener('resize', drawAll);
  pollPipeline();
  loadUsers();
  setInterval(pollPipeline, 1000);
  setInterval(loadUsers, 5000);
}

start();
