// app.js: the dashboard's login, logout and pages (#/ routes).
import { request, APIError } from '../api.js';
import { status } from '../dom.js';
import { get, send, setCSRF } from './api.js';
import { overview } from './overview.js';
import { sessions } from './sessions.js';
import { session } from './session.js';
import { revoked } from './revoked.js';
import { keys } from './keys.js';
import { edges } from './edges.js';

const $ = (id) => document.getElementById(id);
let me = null;
let cleanup = null;

const routes = [
  [/^#?\/?$/, overview],
  [/^#\/sessions$/, sessions],
  [/^#\/session\/([A-Za-z0-9_]{1,200})$/, session],
  [/^#\/revoked$/, revoked],
  [/^#\/keys$/, keys],
  [/^#\/edges$/, edges],
];

function route() {
  if (!me) return;
  if (cleanup) cleanup();
  cleanup = null;
  const view = $('view');
  view.textContent = '';
  const hash = location.hash || '#/';
  for (const a of $('nav').querySelectorAll('a')) {
    const here = a.getAttribute('href') === hash || (hash.startsWith('#/session/') && a.getAttribute('href') === '#/sessions');
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (m) {
      cleanup = page(view, { me, params: m.slice(1), onAuthLost: loggedOut });
      return;
    }
  }
  view.append(status('bad', 'No such page.'));
}

function loggedIn(who) {
  me = who;
  setCSRF(who.csrf);
  $('login').hidden = true;
  $('nav').hidden = false;
  $('who').hidden = false;
  $('who-key').textContent = `key ${who.key_id}`;
  route();
}

function loggedOut(message) {
  me = null;
  if (cleanup) cleanup();
  cleanup = null;
  $('view').textContent = '';
  $('nav').hidden = true;
  $('who').hidden = true;
  $('login').hidden = false;
  const st = $('login-status');
  st.hidden = !message;
  st.className = 'status bad';
  st.textContent = message || '';
  $('api-key').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const st = $('login-status');
  st.hidden = false;
  st.className = 'status';
  st.textContent = 'Checking the key…';
  try {
    const who = await request('POST', '/dashboard/api/login', { api_key: $('api-key').value });
    $('api-key').value = '';
    st.hidden = true;
    loggedIn(who);
  } catch (e) {
    st.className = 'status bad';
    st.textContent = e instanceof APIError && e.status === 401 ? 'Wrong key: the API does not know it.' : e.message;
  }
});

$('logout').addEventListener('click', async () => {
  try { await send('POST', '/logout'); } catch { /* logged out anyway */ }
  loggedOut('');
});

window.addEventListener('hashchange', route);

(async () => {
  try {
    const who = await get('/me');
    $('nav-demo').hidden = !who.demo;
    if (who.logged_in) loggedIn(who); else loggedOut('');
  } catch (e) {
    loggedOut(e instanceof APIError && e.status === 401 ? '' : `Cannot reach smd: ${e.message}`);
  }
})();


