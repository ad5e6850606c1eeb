// edges.js: the edges with their heartbeats and the revisions of the key
// ring and the revoked set they hold.
import { h, status, table, when } from '../dom.js';
import { get } from './api.js';

export function edges(view, ctx) {
  const body = h('div', {}, status('', 'Loading…'));
  view.append(h('section', { className: 'panel' }, h('h2', {}, 'Edges'),
    h('p', { className: 'hint' }, 'Each edge writes a heartbeat every few seconds: what it runs and the revisions it holds. An edge on its snapshot serves while NATS is away.'), body));
  let timer = null;
  async function load() {
    try {
      const es = await get('/v1/edges');
      body.replaceChildren(es.items.length ? table('Edges', ['Edge', 'Version', 'Heartbeat', 'Started', 'Keys revision', 'Keys held', 'Revoked revision', 'Revoked held', 'Requests', 'Refused', 'Source'],
        es.items.map((e) => [e.edge_id, e.version, when(e.at), when(e.started), String(e.keys_revision), (e.key_ids || []).join(', '),
          String(e.revoked_revision), String(e.revoked), String(e.requests), String(e.rejected),
          e.from_snapshot ? h('span', { className: 'badge warn' }, 'snapshot') : h('span', { className: 'badge ok' }, 'NATS')]))
        : status('warn', 'No edge has sent a heartbeat.'));
    } catch (e) {
      if (e.status === 401) { ctx.onAuthLost('Your login expired: log in again.'); return; }
      body.replaceChildren(status('bad', `Cannot read the edges: ${e.message}`));
    }
    timer = setTimeout(load, 3000);
  }
  load();
  return () => clearTimeout(timer);
}
