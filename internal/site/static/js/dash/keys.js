// keys.js: the key ring (states, ages, next rotation) and the rotate
// button.
import { h, status, table, when } from '../dom.js';
import { get, send } from './api.js';

export function keys(view, ctx) {
  const body = h('div', {}, status('', 'Loading…'));
  const msg = h('div', { role: 'status' });
  const rotate = h('button', { type: 'button', onclick: async () => {
    rotate.disabled = true;
    try {
      const st = await send('POST', '/v1/keys/rotate');
      msg.replaceChildren(status('ok', `Rotation ${st.phase}${st.next_kid ? `: next key ${st.next_kid}` : ''}. It completes once every live edge holds the next key.`));
    } catch (e) {
      msg.replaceChildren(status('bad', `Cannot rotate: ${e.message}`));
    }
    rotate.disabled = false;
    load();
  } }, 'Rotate now');
  view.append(h('section', { className: 'panel' }, h('h2', {}, 'Signing keys'),
    h('p', { className: 'hint' }, 'Tokens signed by the primary; the edges accept the next, primary and secondary keys, so that a rotation refuses no token.'),
    h('div', { className: 'actions' }, rotate), msg, body));
  let timer = null;
  async function load() {
    clearTimeout(timer);
    try {
      const ks = await get('/v1/keys');
      body.replaceChildren(table('Keys', ['Key id', 'State', 'Source', 'Created', 'Promoted', 'Demoted', 'Retire after', 'Next rotation'],
        ks.items.map((k) => [k.id, h('span', { className: 'badge ' + (k.state === 'primary' ? 'ok' : k.state === 'retired' ? 'muted' : 'warn') }, k.state),
          k.source || '–', when(k.created_at), when(k.promoted_at), when(k.demoted_at), when(k.retire_after), when(k.next_rotation)])));
    } catch (e) {
      if (e.status === 401) { ctx.onAuthLost('Your login expired: log in again.'); return; }
      body.replaceChildren(status('bad', `Cannot read the keys: ${e.message}`));
    }
    timer = setTimeout(load, 5000);
  }
  load();
  return () => clearTimeout(timer);
}
