// sessions.js: the live sessions with the highest detector scores, with
// the breakdown that explains each score, and one-click revoke and
// unrevoke.
import { h, status, table, when } from '../dom.js';
import { get, send } from './api.js';

export async function toggleRevoke(id, revoked) {
  if (revoked) return send('DELETE', `/v1/sessions/${encodeURIComponent(id)}/revoke`);
  return send('POST', `/v1/sessions/${encodeURIComponent(id)}/revoke`, { reason: 'revoked from the dashboard', ttl: '24h' });
}

export function sessions(view, ctx) {
  const body = h('div', {}, status('', 'Loading the detector\'s sessions…'));
  view.append(h('section', { className: 'panel' }, h('h2', {}, 'Sessions by detector score'),
    h('p', { className: 'hint' }, 'The live sessions with the highest scores of the active scorer, from every control plane\'s detector; the features explain each score. Refreshed every 3 s.'), body));
  let timer = null;
  let stopped = false;
  async function refresh() {
    let top;
    try {
      top = await get('/v1/sessions/top?limit=25');
    } catch (e) {
      if (e.status === 401) { ctx.onAuthLost('Your login expired: log in again.'); return; }
      body.replaceChildren(status('bad', `Cannot read the sessions: ${e.message}`));
      timer = setTimeout(refresh, 3000);
      return;
    }
    if (stopped) return;
    const rows = top.items.map((s) => {
      const sc = s.scores[0];
      const rev = s.revocation;
      // The terms that make the score (a line "<term> <value>: ..." with
      // a value above 0), else the score's own line; all features folded.
      const lines = sc.explanation || [];
      const terms = lines.filter((l) => { const m = l.match(/^[a-z_]+ ([0-9.]+):/); return m && Number(m[1]) > 0; });
      const why = terms.length ? terms : lines.slice(-1);
      const features = h('details', {}, h('summary', {}, 'all features'),
        h('p', { className: 'hint' }, Object.entries(sc.features || {}).map(([k, v]) => `${k} ${Number(v).toFixed(2)}`).join(', ')));
      const button = h('button', { type: 'button', className: rev ? 'secondary small' : 'danger small', onclick: async (ev) => {
        ev.target.disabled = true;
        try { await toggleRevoke(s.session_id, !!rev); } catch (e) { alertIn(body, e); }
        refresh();
      } }, rev ? 'Unrevoke' : 'Revoke');
      return [
        h('a', { href: `#/session/${s.session_id}` }, s.session_id),
        h('span', { className: 'badge ' + (sc.over ? 'bad' : 'muted') }, `${sc.score.toFixed(2)} / ${sc.threshold}`),
        rev ? h('span', { className: 'badge bad' }, rev.type === 'auto' ? 'revoked (detector)' : 'revoked') : (s.ended ? h('span', { className: 'badge muted' }, 'ended') : h('span', { className: 'badge ok' }, 'playing')),
        h('div', {}, h('ul', {}, why.map((l) => h('li', {}, l))), features),
        when(s.last_request),
        button,
      ];
    });
    const content = [];
    if (top.note) content.push(status('warn', top.note));
    content.push(rows.length ? table('Sessions', ['Session', 'Score', 'State', 'Why (the terms of the score)', 'Last request', ''], rows)
      : status('', 'No live session yet: play something on the demo page, or press “Simulate piracy” on the overview.'));
    body.replaceChildren(...content);
    timer = setTimeout(refresh, 3000);
  }
  refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

function alertIn(el, e) {
  el.prepend(status('bad', e.message));
}
