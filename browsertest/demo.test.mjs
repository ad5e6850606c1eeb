// smd's browser tests: `smd demo` driven in Debian's chromium by
// playwright-core. HLS and DASH, VOD and live play; tokens bound to
// another IP address or user agent do not, and the page says why; the
// revoke button stops playback within 5 s; the share demo is caught by
// the detector; the dashboard needs a login, refuses a wrong key, shows
// live numbers, the revoked session and its timeline, the keys and the
// edges; the pages work on a phone-sized screen and by keyboard; the
// browser console stays free of errors; Ctrl-C stops the demo cleanly.
// Screenshots of every page go to $ARTIFACTS (default ./artifacts).
//
// Run with scripts/browser-test.sh (it builds bin/smd and installs what is
// needed), or: SMD_BIN=../bin/smd node --test demo.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const SMD = path.resolve(process.env.SMD_BIN || path.join(here, '..', 'bin', 'smd'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = path.resolve(process.env.ARTIFACTS || path.join(here, 'artifacts'));

let demo; // the smd demo process
let demoOut = '';
let base; // its URL, ending in "/"
let dataDir;
let browser;
const shared = {}; // what a test leaves for later ones

function shot(page, name) {
  return page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// watch collects a page's console errors and uncaught exceptions.
function watch(page) {
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}

// refusals are the browser's own log lines for answers the test wants
// (the edge refusing a token, the API refusing a key): nothing else may
// be in the console.
function assertConsole(errors, allowed = []) {
  const bad = errors.filter((e) => !allowed.some((re) => re.test(e)));
  assert.deepEqual(bad, [], `browser console errors: ${bad.join(' | ')}`);
}
const REFUSED = /^Failed to load resource: the server responded with a status of 40[13] \((Unauthorized|Forbidden)\)$/;

async function newPage(opts = {}) {
  const ctx = await browser.newContext({ ...opts });
  const page = await ctx.newPage();
  return { ctx, page, errors: watch(page) };
}

// playing waits until the video plays on: currentTime advances by a
// second and the status says the edge accepted the token.
async function playing(page) {
  await page.waitForSelector('#status.ok', { timeout: 30000 });
  const t0 = await page.evaluate(() => document.getElementById('video').currentTime);
  await page.waitForFunction((t) => document.getElementById('video').currentTime > t + 1, t0, { timeout: 20000 });
}

async function chooseAndPlay(page, asset) {
  await page.check(`input[name=asset][value=${asset}]`);
  await page.click('#play');
  await playing(page);
}

// SESSION_ONLY is the demo assets' binding at start.
const SESSION_ONLY = { ip: false, ua: false, referer: false, ssn: true };

// setBinding clicks the binding checkboxes to the wanted state; each click
// updates the asset's policy and starts a new token.
async function setBinding(page, want) {
  for (const [name, on] of Object.entries(want)) {
    const box = page.locator(`#binding input[name=${name}]`);
    if ((await box.isChecked()) !== on) {
      await box.click();
      await page.waitForFunction(() => [...document.querySelectorAll('#binding input')].every((b) => !b.disabled));
    }
  }
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  assert.ok(fs.existsSync(SMD), `no smd binary at ${SMD}: build it (go build -o bin/smd ./cmd/smd)`);
  assert.ok(fs.existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: apt-get install chromium`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smd-demo-browser-'));
  demo = spawn(SMD, ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  demo.stderr.on('data', (d) => { demoOut += d; });
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`smd demo printed no URL in 60 s:\n${demoOut}`)), 60000);
    demo.stdout.on('data', (d) => {
      demoOut += d;
      const m = demoOut.match(/open\s+(http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    demo.on('exit', (code) => reject(new Error(`smd demo exited (${code}):\n${demoOut}`)));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (demo && demo.exitCode === null) demo.kill('SIGKILL');
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('HLS and DASH, VOD and live, play with a valid token', async () => {
  const { ctx, page, errors } = await newPage();
  await page.goto(base);
  await shot(page, 'demo-page');
  for (const asset of ['demo_hls_vod', 'demo_dash_vod', 'demo_hls_live', 'demo_dash_live']) {
    await chooseAndPlay(page, asset);
    // The page shows the request, the playback URL, the decoded token.
    assert.match(await page.textContent('#req'), new RegExp(`GET /v1/token\\?id=${asset}`));
    const url = await page.textContent('#url');
    assert.match(url, new RegExp(`^${base}[A-Za-z0-9_]+\\.ey[^/]+/`));
    assert.match(await page.textContent('#jwt-header'), /"alg": "HS256"/);
    assert.match(await page.textContent('#jwt-payload'), /"intsig"/);
    assert.match(await page.textContent('#jwt-times'), /expires \(exp\).*\(in 1(\.\d)? h|in 2\.0 h|in 120 min/);
    assert.equal(await page.locator('#qr img').count(), 1, 'a QR code of the playback URL');
    await shot(page, `demo-${asset}`);
  }
  assertConsole(errors);
  await ctx.close();
});

test('a token bound to another IP address does not play, and the page says so', async () => {
  const { ctx, page, errors } = await newPage();
  await page.goto(base);
  await page.check('input[name=asset][value=demo_hls_vod]');
  await setBinding(page, { ip: true });
  await playing(page); // bound to this browser's address: plays
  assert.match(await page.textContent('#resp'), /"ip": true/);
  // The token API believes the edge's X-Forwarded-For: ask for a token as
  // a viewer at 198.51.100.7 would get it, and play it here.
  await page.route('**/v1/token?*', (route) => route.continue({ headers: { ...route.request().headers(), 'x-forwarded-for': '198.51.100.7' } }));
  await page.click('#play');
  await page.waitForSelector('#status.bad', { timeout: 20000 });
  const st = await page.textContent('#status');
  assert.match(st, /refused this token \(40[13]\)/);
  assert.match(st, /bound to IP 198\.51\.100\.7; this browser is 127\.0\.0\.1/);
  assert.equal(await page.evaluate(() => document.getElementById('video').currentTime), 0);
  await shot(page, 'demo-ip-bound-elsewhere');
  await page.unroute('**/v1/token?*');
  await setBinding(page, { ip: false });
  assertConsole(errors, [REFUSED]);
  await ctx.close();
});

test('a token bound to another user agent does not play, and the page says so', async () => {
  const { ctx, page, errors } = await newPage();
  await page.goto(base);
  await page.check('input[name=asset][value=demo_dash_vod]');
  await setBinding(page, { ua: true });
  await playing(page);
  await page.route('**/v1/token?*', (route) => route.continue({ headers: { ...route.request().headers(), 'user-agent': 'OtherPlayer/9.0' } }));
  await page.click('#play');
  await page.waitForSelector('#status.bad', { timeout: 20000 });
  assert.match(await page.textContent('#status'), /bound to another User-Agent \(OtherPlayer\/9\.0\)/);
  await shot(page, 'demo-ua-bound-elsewhere');
  await page.unroute('**/v1/token?*');
  await setBinding(page, { ua: false });
  assertConsole(errors, [REFUSED]);
  await ctx.close();
});

test('the revoke button stops playback within 5 s, and the page says why', async () => {
  const { ctx, page, errors } = await newPage();
  await page.goto(base);
  await page.check('input[name=asset][value=demo_hls_live]');
  await setBinding(page, SESSION_ONLY); // whatever an earlier test left
  await chooseAndPlay(page, 'demo_hls_live');
  shared.revokedSession = JSON.parse(await page.textContent('#resp')).session_id;
  const t0 = Date.now();
  await page.click('#revoke');
  await page.waitForFunction(() => /revoked \(by an operator\)/.test(document.getElementById('status').textContent), null, { timeout: 5000 });
  const stoppedAfter = Date.now() - t0;
  const v = await page.evaluate(() => ({ paused: document.getElementById('video').paused, t: document.getElementById('video').currentTime }));
  await page.waitForTimeout(1500);
  const v2 = await page.evaluate(() => document.getElementById('video').currentTime);
  assert.ok(stoppedAfter < 5000, `stopped after ${stoppedAfter} ms`);
  assert.ok(v.paused && v2 === v.t, `the video still plays: ${JSON.stringify(v)} then ${v2}`);
  assert.match(await page.textContent('#status'), /revoked from the demo page's button/);
  await shot(page, 'demo-revoked');
  assertConsole(errors, [REFUSED]);
  await ctx.close();
});

test('"share this token": the detector catches the shared session', async () => {
  const { ctx, page, errors } = await newPage();
  await page.goto(base);
  await page.check('input[name=asset][value=demo_hls_vod]');
  await setBinding(page, SESSION_ONLY); // shared copies of an IP- or UA-bound token never play
  await chooseAndPlay(page, 'demo_hls_vod');
  shared.caughtSession = JSON.parse(await page.textContent('#resp')).session_id;
  await page.click('#share');
  try {
    await page.waitForFunction(() => /Caught: the detector revoked session/.test(document.getElementById('share-status').textContent), null, { timeout: 30000 });
  } catch (e) {
    await shot(page, 'demo-shared-FAILED');
    throw new Error(`${e.message}; the page says: ${await page.textContent('#share-panel')}`);
  }
  assert.match(await page.textContent('#share-status'), /places/);
  // The viewer's own playback stops too, with the detector's reason.
  await page.waitForFunction(() => /revoked \(by the detector\)/.test(document.getElementById('status').textContent), null, { timeout: 15000 });
  await shot(page, 'demo-shared-caught');
  assertConsole(errors, [REFUSED]);
  await ctx.close();
});

test('the dashboard needs a login and refuses a wrong key', async () => {
  const { ctx, page, errors } = await newPage();
  await page.goto(base + 'dashboard');
  await page.waitForSelector('#login:not([hidden])');
  assert.equal(await page.isVisible('#nav'), false);
  const anon = await page.request.get(base + 'dashboard/api/metrics');
  assert.equal(anon.status(), 401);
  const anonAPI = await page.request.get(base + 'dashboard/api/v1/keys');
  assert.equal(anonAPI.status(), 401);
  await shot(page, 'dashboard-login');
  await page.fill('#api-key', 'smd_nobody_' + 'a'.repeat(43));
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => /Wrong key/.test(document.getElementById('login-status').textContent));
  // An issuer key is a key, but not an admin one.
  await page.fill('#api-key', fs.readFileSync(path.join(dataDir, 'api-keys.issuer'), 'utf8').trim());
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => /admin scope/.test(document.getElementById('login-status').textContent));
  assert.equal(await page.isVisible('#nav'), false);
  await shot(page, 'dashboard-login-refused');
  assertConsole(errors, [/status of 40[13]/]);
  await ctx.close();
});

async function loggedIn() {
  const p = await newPage();
  await p.page.goto(base + 'dashboard');
  await p.page.waitForSelector('#login:not([hidden])');
  await p.page.fill('#api-key', fs.readFileSync(path.join(dataDir, 'api-keys.admin'), 'utf8').trim());
  await p.page.click('#login-form button[type=submit]');
  await p.page.waitForSelector('#nav:not([hidden])');
  return p;
}

test('the dashboard shows live numbers, sessions, keys and edges; logout ends the login', async () => {
  const { ctx, page, errors } = await loggedIn();
  const cookies = await ctx.cookies();
  const c = cookies.find((x) => x.name === 'smd_dashboard');
  assert.ok(c && c.httpOnly && c.sameSite === 'Strict' && c.path === '/dashboard', `cookie ${JSON.stringify(c)}`);
  // A state change without the CSRF token is refused, even with the cookie.
  const forged = await page.request.post(base + 'dashboard/api/v1/keys/rotate', { headers: { 'Content-Type': 'application/json' }, data: '{}' });
  assert.equal(forged.status(), 403);
  assert.equal((await forged.json()).error, 'csrf_token_invalid');
  await page.waitForFunction(() => document.querySelectorAll('.uplot').length >= 4, null, { timeout: 10000 });
  const m = await (await page.request.get(base + 'dashboard/api/metrics')).json();
  assert.ok(m.t.length > 0 && Object.values(m.requests).some((s) => s.some((v) => v > 0)), 'the charts have requests');
  assert.ok(Object.keys(m.requests).includes('revoked'), `verdicts charted: ${Object.keys(m.requests)}`);
  await page.waitForTimeout(2500);
  await shot(page, 'dashboard-overview');

  await page.goto(base + 'dashboard#/sessions');
  await page.waitForSelector('#view table', { timeout: 15000 });
  assert.match(await page.textContent('#view'), /concurrency|presence|spread/);
  await shot(page, 'dashboard-sessions');

  await page.goto(base + 'dashboard#/keys');
  await page.waitForSelector('#view table');
  assert.match(await page.textContent('#view table'), /primary/);
  await page.click('text=Rotate now');
  await page.waitForFunction(() => /Rotation /.test(document.getElementById('view').textContent));
  await shot(page, 'dashboard-keys');

  await page.goto(base + 'dashboard#/edges');
  await page.waitForSelector('#view table');
  assert.match(await page.textContent('#view table'), /demo/);
  await shot(page, 'dashboard-edges');

  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])');
  assert.equal((await page.request.get(base + 'dashboard/api/metrics')).status(), 401);
  assertConsole(errors);
  await ctx.close();
});

test('the dashboard lists the revoked session, with its reason and timeline', async () => {
  assert.ok(shared.revokedSession && shared.caughtSession, 'the revoke and share tests ran first');
  const { ctx, page, errors } = await loggedIn();
  await page.goto(base + 'dashboard#/revoked');
  await page.waitForSelector('#view table');
  await page.fill('#revoked-search', shared.revokedSession.slice(0, 6));
  await page.click('#view form button[type=submit]');
  await page.waitForSelector(`#view a[href="#/session/${shared.revokedSession}"]`);
  assert.match(await page.textContent('#view'), /of \d+/);
  await shot(page, 'dashboard-revoked');
  await page.click(`#view a[href="#/session/${shared.revokedSession}"]`);
  await page.waitForFunction(() => /revoked from the demo page's button/.test(document.getElementById('view').textContent), null, { timeout: 10000 });
  await page.waitForFunction(() => /Viewers \(/.test(document.getElementById('view').textContent), null, { timeout: 10000 });
  const text = await page.textContent('#view');
  assert.match(text, /verdicts.*allow \d+/s);
  assert.match(text, /revoked \d+/);
  assert.match(text, /127\.0\.0\.1/);
  await shot(page, 'dashboard-session-revoked');
  // The session the detector caught: its explanation and evidence.
  await page.goto(base + `dashboard#/session/${shared.caughtSession}`);
  await page.waitForFunction(() => /by the detector/.test(document.getElementById('view').textContent), null, { timeout: 10000 });
  await page.waitForFunction(() => /198\.1[89]\./.test(document.getElementById('view').textContent), null, { timeout: 10000 });
  assert.match(await page.textContent('#view'), /places/);
  await shot(page, 'dashboard-session-caught');
  assertConsole(errors);
  await ctx.close();
});

test('"simulate piracy" runs the simulator against the stack, and the sessions page shows pirates caught', async () => {
  const { ctx, page, errors } = await loggedIn();
  await page.click('button:has-text("Simulate piracy")');
  await page.waitForFunction(() => /Simulation running since/.test(document.getElementById('view').textContent), null, { timeout: 10000 });
  await page.goto(base + 'dashboard#/sessions');
  // A pirate of the simulator (a shared token, a restreamer, ...) revoked
  // by the detector shows in the table: a session other than the one the
  // share test got caught.
  await page.waitForFunction((caught) => [...document.querySelectorAll('#view tbody tr')].some((tr) =>
    /revoked \(detector\)/.test(tr.textContent) && !tr.textContent.includes(caught)), shared.caughtSession, { timeout: 60000 });
  await shot(page, 'dashboard-simulation');
  assertConsole(errors);
  await ctx.close();
});

test('phone-sized screen and keyboard: no horizontal scrolling, controls by keyboard with visible focus', async () => {
  const { ctx, page, errors } = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await page.goto(base);
  await page.waitForSelector('input[name=asset]');
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await page.focus('#play');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  await page.keyboard.press('Enter');
  await playing(page);
  await shot(page, 'demo-phone');
  // Reach the play button by Tab from the top: it must be in the order.
  await page.goto(base);
  await page.waitForSelector('input[name=asset]');
  let reached = false;
  for (let i = 0; i < 20 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement && document.activeElement.id === 'play');
  }
  assert.ok(reached, 'the play button is reachable by Tab');
  const focused = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(focused, 'none', `no visible focus (outline ${focused}, before ${outline})`);
  await page.goto(base + 'dashboard');
  await page.waitForSelector('#login:not([hidden])');
  const overflow2 = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow2 <= 0, `the dashboard login is ${overflow2}px wider than the screen`);
  await shot(page, 'dashboard-phone');
  assertConsole(errors);
  await ctx.close();
});

test('Ctrl-C stops smd demo cleanly', async () => {
  const exited = new Promise((resolve) => demo.on('exit', (code, signal) => resolve({ code, signal })));
  demo.kill('SIGINT');
  const res = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 15000))]);
  assert.deepEqual(res, { code: 0, signal: null }, `smd demo did not exit cleanly:\n${demoOut}`);
  assert.match(demoOut, /smd demo: stopped/);
});
