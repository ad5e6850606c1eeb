// demo.js: the demo page. It asks the token API for a playback URL (as a
// player app would), shows the request, the answer and the decoded token,
// plays it, and drives the demo's backend (/demo/api/) for the binding
// toggles, the revoke button and the share demo.
import { getJSON, postJSON, APIError } from './api.js';
import { decode, humanTime, tokenOf } from './jwt.js';
import { play } from './player.js';
import { qrImage } from './qr.js';

const $ = (id) => document.getElementById(id);
const state = { assets: [], asset: null, token: null, player: null, shareTimer: null, progressTimer: null };

function setStatus(kind, text, items) {
  const el = $('status');
  el.className = 'status' + (kind ? ' ' + kind : '');
  el.textContent = text;
  if (items && items.length) {
    const ul = document.createElement('ul');
    for (const it of items) {
      const li = document.createElement('li');
      li.textContent = it;
      ul.append(li);
    }
    el.append(ul);
  }
}

function pretty(v) { return JSON.stringify(v, null, 2); }

function stopPlayer() {
  if (state.player) state.player.destroy();
  state.player = null;
  clearInterval(state.progressTimer);
  const v = $('video');
  v.pause();
  v.removeAttribute('src');
  v.load();
}

function selectedBinding() {
  const b = {};
  for (const box of $('binding').querySelectorAll('input')) b[box.name] = box.checked;
  return b;
}

function showBinding(b) {
  for (const box of $('binding').querySelectorAll('input')) box.checked = !!b[box.name];
}

function renderAssets() {
  const box = $('assets');
  box.textContent = '';
  for (const a of state.assets) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'asset';
    input.value = a.id;
    input.checked = state.asset && state.asset.id === a.id;
    input.addEventListener('change', () => chooseAsset(a.id));
    label.append(input, ' ' + a.label);
    box.append(label);
  }
}

function chooseAsset(id) {
  state.asset = state.assets.find((a) => a.id === id);
  showBinding(state.asset.binding);
  $('play').disabled = false;
}

async function loadConfig() {
  try {
    const cfg = await getJSON('/demo/api/config');
    state.assets = cfg.assets;
    state.shareOn = cfg.share;
    state.asset = state.assets[0] || null;
    renderAssets();
    if (state.asset) chooseAsset(state.asset.id);
  } catch (e) {
    $('assets').textContent = '';
    setStatus('bad', `Cannot load the demo's assets: ${e.message}`);
  }
}

// getToken asks the token API, as a player app or its backend would.
async function getToken() {
  const a = state.asset;
  const path = `/v1/token?id=${encodeURIComponent(a.id)}`;
  $('req').textContent = `GET ${path}\nHost: ${location.host}\nUser-Agent: ${navigator.userAgent}\nReferer: ${location.href}\n\n` +
    '(the demo\'s token endpoint is public and rate-limited per address; in production an issuer key\n' +
    ' in "Authorization: Bearer smd_..." comes from your backend, never from a page)';
  $('resp').textContent = '…';
  const t = await getJSON(path);
  $('resp').textContent = pretty(t);
  return t;
}

function showToken(t) {
  $('url').textContent = t.playback_url;
  $('copy').disabled = false;
  const qr = $('qr');
  qr.className = '';
  qr.textContent = '';
  try {
    qr.append(qrImage(t.playback_url, 'QR code of the playback URL'));
  } catch (e) {
    qr.className = 'qr-empty';
    qr.textContent = `No QR code: ${e.message}`;
  }
  try {
    const d = decode(tokenOf(t.playback_url));
    $('jwt-ssn').textContent = d.session || '(this token binds no session)';
    $('jwt-header').textContent = pretty(d.header);
    $('jwt-payload').textContent = pretty(d.payload);
    const dl = $('jwt-times');
    dl.textContent = '';
    for (const [k, label] of [['iat', 'issued (iat)'], ['nbf', 'not before (nbf)'], ['exp', 'expires (exp)']]) {
      if (d.payload[k] === undefined) continue;
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = humanTime(Number(d.payload[k]));
      dl.append(dt, dd);
    }
  } catch (e) {
    $('jwt-payload').textContent = `cannot decode: ${e.message}`;
  }
}

async function start() {
  stopPlayer();
  stopShare();
  $('share-panel').hidden = true;
  $('revoke').disabled = true;
  $('share').disabled = true;
  setStatus('', 'Asking the token API…');
  let t;
  try {
    t = await getToken();
  } catch (e) {
    $('resp').textContent = e instanceof APIError ? pretty({ error: e.code, message: e.message }) : String(e);
    setStatus('bad', `The token API refused: ${e.message}`);
    return;
  }
  state.token = t;
  showToken(t);
  const bound = [];
  if (t.token_policy.ip) bound.push(`IP ${t.token_policy.ip_value}`);
  if (t.token_policy.ua) bound.push('this User-Agent');
  if (t.token_policy.referer) bound.push('this Referer');
  if (t.session_id) bound.push(`session ${t.session_id}`);
  setStatus('', `Playing ${state.asset.label}; the token binds ${bound.length ? bound.join(', ') : 'nothing but its paths and time'}…`);
  $('revoke').disabled = !t.session_id;
  $('share').disabled = !t.session_id || !state.shareOn;
  const video = $('video');
  state.player = play(video, state.asset.protocol, t.playback_url, (what) => refused(what));
  let announced = false;
  state.progressTimer = setInterval(() => {
    if (!announced && video.currentTime > 0.5 && !video.paused) {
      announced = true;
      setStatus('ok', `Playing: the edge accepted the token. ${state.asset.live ? 'Live' : 'On demand'}, ${state.asset.protocol.toUpperCase()}.`);
    }
  }, 500);
}

// refused runs when the player fails: it stops playback and says why.
async function refused(what) {
  const url = state.token && state.token.playback_url;
  stopPlayer();
  if (!url) return;
  let status = 0;
  try {
    status = (await fetch(url, { method: 'HEAD', cache: 'no-store' })).status;
  } catch { /* network */ }
  if (status === 200) {
    setStatus('warn', `The player stopped (${what}), but the edge still accepts the token: try again.`);
    return;
  }
  if (status === 0 || status >= 500) {
    setStatus('bad', `The stream failed: the edge answered ${status || 'nothing'} (${what}). The origin or the network failed, not the token: try again in a moment.`);
    return;
  }
  let why;
  try {
    why = await postJSON('/demo/api/why', { playback_url: url });
  } catch (e) {
    setStatus('bad', `Playback stopped: the edge answered ${status || 'nothing'} (${what}); cannot ask why: ${e.message}`);
    return;
  }
  const p = state.token.token_policy;
  if (why.revocation) {
    const r = why.revocation;
    const items = [`reason: ${r.reason || '(none given)'}`, `by: ${r.by || r.type}`, `at: ${new Date(r.revoked_at).toLocaleString()}`];
    for (const line of r.explanation || []) items.push(line);
    setStatus('bad', `Playback stopped: the edge refuses this session (${status}) because it was revoked (${r.type === 'auto' ? 'by the detector' : 'by an operator'}).`, items);
    $('revoke').disabled = true;
    return;
  }
  if (why.expired) {
    setStatus('bad', `Playback stopped: the token expired (the edge answered ${status}).`);
    return;
  }
  const items = [];
  if (p.ip && p.ip_value !== why.viewer.ip) items.push(`The token is bound to IP ${p.ip_value}; this browser is ${why.viewer.ip}.`);
  if (p.ua && p.ua_value !== why.viewer.user_agent) items.push(`The token is bound to another User-Agent (${p.ua_value}).`);
  if (p.referer) items.push(`The token is bound to the Referer ${p.referer_value || '(none)'}.`);
  setStatus('bad', `The edge refused this token (${status}): it is not valid for this viewer.`, items.length ? items : [`The player said: ${what}.`]);
}

async function changeBinding() {
  if (!state.asset) return;
  const b = selectedBinding();
  for (const box of $('binding').querySelectorAll('input')) box.disabled = true;
  try {
    await postJSON('/demo/api/binding', { asset: state.asset.id, binding: b });
    state.asset.binding = b;
    await start();
  } catch (e) {
    showBinding(state.asset.binding);
    setStatus('bad', `Cannot change the binding: ${e.message}`);
  } finally {
    for (const box of $('binding').querySelectorAll('input')) box.disabled = false;
  }
}

async function revoke() {
  if (!state.token) return;
  $('revoke').disabled = true;
  try {
    const r = await postJSON('/demo/api/revoke', { playback_url: state.token.playback_url });
    setStatus('warn', `Session ${r.session_id} revoked; the edge refuses its next request…`);
  } catch (e) {
    $('revoke').disabled = false;
    setStatus('bad', `Cannot revoke: ${e.message}`);
  }
}

function stopShare() {
  clearInterval(state.shareTimer);
  state.shareTimer = null;
}

function renderShare(run) {
  const body = $('share-table').querySelector('tbody');
  body.textContent = '';
  for (const p of run.places) {
    const tr = document.createElement('tr');
    const badge = document.createElement('span');
    badge.className = 'badge ' + ({ playing: 'ok', refused: 'bad', stopped: 'muted', starting: 'muted' }[p.state] || 'muted');
    badge.textContent = p.state;
    const cells = [p.addr, p.country, badge, String(p.requests), p.last_status ? String(p.last_status) : '–'];
    for (const c of cells) {
      const td = document.createElement('td');
      td.append(c);
      tr.append(td);
    }
    body.append(tr);
  }
  const el = $('share-status');
  if (run.revocation) {
    const r = run.revocation;
    const secs = ((new Date(r.revoked_at) - new Date(run.started)) / 1000).toFixed(1);
    el.className = 'status ok';
    el.textContent = `Caught: the ${r.type === 'auto' ? 'detector' : 'operator'} revoked session ${run.session_id} ${secs} s after sharing began.`;
    const ul = document.createElement('ul');
    for (const line of r.explanation || [r.reason]) {
      const li = document.createElement('li');
      li.textContent = line;
      ul.append(li);
    }
    el.append(ul);
  } else if (run.done) {
    el.className = 'status warn';
    el.textContent = run.places.every((p) => p.state === 'refused')
      ? 'The shared copies were refused at once: the token binds this viewer (IP or User-Agent), so the copies never played.'
      : 'The share run ended without a revocation.';
  } else {
    el.className = 'status';
    el.textContent = `Sharing session ${run.session_id} from ${run.places.length} places; waiting for the detector…`;
  }
}

async function share() {
  if (!state.token) return;
  $('share').disabled = true;
  $('share-panel').hidden = false;
  $('share-status').className = 'status';
  $('share-status').textContent = 'Starting the shared copies…';
  let run;
  try {
    run = await postJSON('/demo/api/share', { playback_url: state.token.playback_url });
  } catch (e) {
    $('share-status').className = 'status bad';
    $('share-status').textContent = `Cannot share: ${e.message}`;
    $('share').disabled = false;
    return;
  }
  renderShare(run);
  stopShare();
  state.shareTimer = setInterval(async () => {
    try {
      const r = await getJSON(`/demo/api/share/${encodeURIComponent(run.id)}`);
      renderShare(r);
      if (r.done || r.revocation) stopShare();
    } catch (e) {
      $('share-status').className = 'status bad';
      $('share-status').textContent = `Cannot follow the share run: ${e.message}`;
      stopShare();
    }
  }, 1000);
}

$('play').addEventListener('click', start);
$('revoke').addEventListener('click', revoke);
$('share').addEventListener('click', share);
$('copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(state.token.playback_url);
    $('copy').textContent = 'Copied';
  } catch {
    $('copy').textContent = 'Select the URL above to copy it';
  }
  setTimeout(() => { $('copy').textContent = 'Copy the URL'; }, 2000);
});
for (const box of $('binding').querySelectorAll('input')) box.addEventListener('change', changeBinding);
loadConfig();
