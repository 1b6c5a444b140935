// SPDX-License-Identifier: Apache-2.0
// dashboard.test.mjs -- the dashboard in a real browser: Debian's chromium, headless, driven by
// playwright-core. Loads the page from `spate serve`, sees the charts update, finds a user by
// id, refuses a bad id with the API's message, makes no request off this host, and saves a
// screenshot.
// Env: SERVE_URL (http://127.0.0.1:PORT), USER_ID (default: the first user the table lists),
//      USER_NAME (first name of USER_ID, checked when set), SCREENSHOT (png path),
//      CHROMIUM (default /usr/bin/chromium), WAIT_S (default 6), FULL=1 to also require the
//      latency and lag charts to have data (a pipeline with Spark and the sink running).
import { chromium } from 'playwright-core';

const url = process.env.SERVE_URL;
let userId = process.env.USER_ID;   // unset: the first row of the latest-users table
const userName = process.env.USER_NAME || '';
const shot = process.env.SCREENSHOT || 'dashboard.png';
const waitS = Number(process.env.WAIT_S || 6);
let passed = 0, failed = 0;
const ok = (m) => { console.log('ok   ' + m); passed++; };
const bad = (m) => { console.log('FAIL ' + m); failed++; };
const check = (cond, m, detail) => (cond ? ok(m) : bad(m + (detail ? ': ' + detail : '')));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const offHost = [];
  const errors = [];
  const here = new URL(url).host;
  // Offline: every request must go to the server itself (no CDN, no fonts).
  await page.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.protocol === 'data:' || u.host === here) return route.continue();
    offHost.push(u.href);
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push('page error: ' + e.message));
  // (the 400 of the bad-id step below is expected and not a script error)
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('status of 400')) errors.push('console: ' + m.text());
  });

  const t0 = Date.now();
  // With a token, the page is opened once as /#token=TOKEN (process.env.TOKEN).
  const token = process.env.TOKEN || '';
  const resp = await page.goto(url + '/' + (token ? '#token=' + encodeURIComponent(token) : ''),
    { waitUntil: 'load' });
  check(resp && resp.status() === 200, 'dashboard loads (HTTP 200)', resp && resp.status());
  if (token) {
    check(!page.url().includes(token), 'the token leaves the address bar at once', page.url());
  }
  await page.waitForFunction(() => Number(document.getElementById('clock').dataset.updates) >= 1,
    null, { timeout: 20000 })
    .then(() => ok(`first pipeline poll rendered in ${Date.now() - t0} ms`))
    .catch(() => bad('no pipeline poll rendered within 10 s'));

  // Charts update: more points drawn, different pixels, after a few polls.
  const snap = () => page.evaluate(() => {
    const c = document.getElementById('c-throughput');
    return { samples: Number(c.dataset.samples), last: Number(c.dataset.last || 0), updates: Number(document.getElementById('clock').dataset.updates),
             pixels: c.toDataURL(), lat: Number(document.getElementById('c-latency').dataset.samples),
             lag: Number(document.getElementById('c-lag').dataset.samples) };
  });
  const a = await snap();
  await page.waitForTimeout(waitS * 1000);
  const b = await snap();
  check(b.updates >= a.updates + Math.floor(waitS / 2), `dashboard polled ${b.updates - a.updates} times in ${waitS} s`);
  // (once the 5-minute window is full the point count stays level: check the newest point)
  check(b.last > a.last && b.samples > 0,
        `throughput chart shows newer data (${b.samples} points, newest ${((b.last - a.last) / 1000).toFixed(1)} s later)`);
  check(b.pixels !== a.pixels, 'throughput chart was redrawn with new data (pixels changed)');
  // the config has two pipelines: a row for each
  const rows = await page.evaluate(() => ({
    hidden: document.getElementById('per-pipeline').hidden,
    names: [...document.querySelectorAll('#pipelines tbody tr')].map((tr) => tr.dataset.pipeline),
  }));
  check(!rows.hidden && rows.names.join(',') === 'users,side',
        `per-pipeline table lists ${rows.names.join(', ')}`, JSON.stringify(rows));
  const ingest = await page.textContent('#k-ingest');
  check(ingest && ingest.trim() !== '–', `ingest rate tile shows a value (${ingest && ingest.trim()})`);
  if (process.env.FULL === '1') {
    check(b.lat > 0, `latency chart has ${b.lat} points`);
    check(b.lag > 0, `lag chart has ${b.lag} points`);
  } else {
    console.log(`     latency chart points ${b.lat}, lag chart points ${b.lag}`);
  }

  // Latest users table, filled from /api/users.
  await page.waitForSelector('#users tbody tr', { timeout: 10000 })
    .then(async () => ok(`latest users table has ${await page.locator('#users tbody tr').count()} rows`))
    .catch(() => bad('latest users table stayed empty'));

  // Find a user by id (by default one the table lists, as a user would copy it).
  if (!userId)
    userId = await page.getAttribute('#users tbody tr:first-child', 'data-id').catch(() => null);
  if (!userId) {
    bad('no user id to search for');
  } else {
    await page.fill('#user-id', userId);
    await page.click('#user-search');
    await page.waitForSelector(`#user-result[data-found="${userId}"]`, { timeout: 5000 })
      .then(() => ok('search by id shows the user'))
      .catch(() => bad('search by id did not show ' + userId));
    const text = (await page.textContent('#user-result')) || '';
    check(!userName || text.includes(userName), `the user card shows the stored name ${userName}`);
  }
  // Save the screenshot with the user card open.
  await page.screenshot({ path: shot, fullPage: true });
  ok('screenshot saved to ' + shot);

  // A bad id gets the API's 400 message on the page.
  await page.fill('#user-id', 'not-a-uuid');
  await page.click('#user-search');
  await page.waitForSelector('#user-error', { timeout: 5000 })
    .then(async () => {
      const m = await page.textContent('#user-error');
      check(m.includes('bad user id'), 'a bad id shows the API message', m);
    })
    .catch(() => bad('a bad id showed no error'));

  check(offHost.length === 0, 'no request left this host (works offline)', offHost.join(' '));
  check(errors.length === 0, 'no script errors', errors.join(' | '));
} catch (e) {
  bad('browser test crashed: ' + (e && e.stack || e));
} finally {
  await browser.close();
}
console.log(`dashboard: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
