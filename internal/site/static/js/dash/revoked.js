// revoked.js: the revoked sessions, searched by the start of their id and
// paged with the API's cursor (fast at 1,000,000: the control plane keeps
// a sorted index).
import { h, status, table, when } from '../dom.js';
import { get } from './api.js';
import { toggleRevoke } from './sessions.js';

const PAGE = 50;

export function revoked(view, ctx) {
  const input = h('input', { type: 'search', id: 'revoked-search', placeholder: 'start of a session id', 'aria-label': 'Search revoked sessions by the start of their id', pattern: '[A-Za-z0-9_]*' });
  const body = h('div', {}, status('', 'Loading…'));
  const prev = h('button', { type: 'button', className: 'secondary small', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', className: 'secondary small', disabled: true }, 'Next →');
  const info = h('span', { className: 'muted' });
  const form = h('form', { className: 'row', role: 'search' }, input, h('button', { type: 'submit' }, 'Search'));
  view.append(h('section', { className: 'panel' }, h('h2', {}, 'Revoked sessions'), form, body, h('div', { className: 'row' }, prev, next, info)));
  let cursors = [''];
  let prefix = '';

  async function load() {
    const after = cursors[cursors.length - 1];
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (after) q.set('after', after);
    if (prefix) q.set('prefix', prefix);
    let page;
    try {
      page = await get(`/v1/sessions/revoked?${q}`);
    } catch (e) {
      if (e.status === 401) { ctx.onAuthLost('Your login expired: log in again.'); return; }
      body.replaceChildren(status('bad', `Cannot read the revoked sessions: ${e.message}`));
      return;
    }
    const rows = page.items.map((r) => [
      h('a', { href: `#/session/${r.session_id}` }, r.session_id), r.type, r.reason || '–', r.by || '–', when(r.revoked_at),
      r.expires_at ? when(r.expires_at) : 'never',
      h('button', { type: 'button', className: 'secondary small', onclick: async (ev) => {
        ev.target.disabled = true;
        try { await toggleRevoke(r.session_id, true); load(); } catch (e) { body.prepend(status('bad', e.message)); }
      } }, 'Unrevoke'),
    ]);
    body.replaceChildren(rows.length ? table('Revoked sessions', ['Session', 'Type', 'Reason', 'By', 'Revoked', 'Expires', ''], rows)
      : status('', prefix ? `No revoked session starts with “${prefix}”.` : 'No session is revoked.'));
    prev.disabled = cursors.length < 2;
    next.disabled = !page.next;
    next.onclick = () => { cursors.push(page.next); load(); };
    const start = (cursors.length - 1) * PAGE;
    info.textContent = page.total !== undefined ? `${rows.length ? start + 1 : 0}–${start + rows.length} of ${page.total.toLocaleString()}` : '';
  }
  prev.onclick = () => { cursors.pop(); load(); };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!input.checkValidity()) { body.replaceChildren(status('bad', 'Session ids are letters, digits and “_”.')); return; }
    prefix = input.value.trim();
    cursors = [''];
    load();
  });
  load();
  return () => {};
}
