// session.js: one session's page: its revocation with the reason and the
// detector's explanation and evidence, the detector's live view, and its
// timeline from the access stream (requests and bytes over time, every
// verdict, its viewers and latest requests).
import { h, status, table, when, bytes } from '../dom.js';
import { get } from './api.js';
import { toggleRevoke } from './sessions.js';

const COLORS = ['#116b2f', '#a4161a', '#0b5cad', '#7a4b00', '#6a1b9a', '#00695c', '#c2185b', '#37474f'];

function kv(pairs) {
  return h('dl', { className: 'kv' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function evidence(ev) {
  if (!ev) return null;
  return kv([
    ['addresses', (ev.addresses || []).join(', ')], ['networks', (ev.networks || []).join(', ')],
    ['countries', (ev.countries || []).join(', ')], ['networks (ASN)', (ev.asns || []).join(', ')],
    ['user agents', (ev.user_agents || []).join(' | ')], ['renditions', (ev.renditions || []).join(', ')],
    ['window', ev.from ? `${when(ev.from)} to ${when(ev.to)}` : ''],
  ]);
}

export function session(view, ctx) {
  const id = ctx.params[0];
  const revBox = h('section', { className: 'panel', 'aria-labelledby': 'h-rev' }, h('h2', { id: 'h-rev' }, 'Revocation'), status('', 'Loading…'));
  const detBox = h('section', { className: 'panel', 'aria-labelledby': 'h-det' }, h('h2', { id: 'h-det' }, 'Detector'), status('', 'Loading…'));
  const tlBox = h('section', { className: 'panel', 'aria-labelledby': 'h-tl' }, h('h2', { id: 'h-tl' }, 'Timeline, last 15 minutes'), status('', 'Reading the access stream…'));
  view.append(h('p', {}, h('a', { href: '#/sessions' }, '← Sessions')), h('h2', {}, `Session ${id}`), h('div', { className: 'grid two' }, h('div', {}, tlBox), h('div', {}, revBox, detBox)));
  let plot = null;
  let timer = null;
  let stopped = false;

  async function refresh() {
    const enc = encodeURIComponent(id);
    // The detector's answer carries the revocation too (null when none):
    // a GET of the revocation itself would be a 404, which the browser
    // logs as an error, for every session that is not revoked.
    const [det, tl] = await Promise.all([
      get(`/v1/sessions/${enc}/detector`).then((r) => ({ r }), (e) => ({ e })),
      get(`/v1/sessions/${enc}/timeline?since=15m`).then((r) => ({ r }), (e) => ({ e })),
    ]);
    if (stopped) return;
    if ([det, tl].some((x) => x.e && x.e.status === 401)) { ctx.onAuthLost('Your login expired: log in again.'); return; }
    const rev = det.r ? (det.r.revocation ? { r: det.r.revocation } : { none: true }) : { e: det.e };

    const revoked = !!rev.r;
    const button = h('button', { type: 'button', className: revoked ? 'secondary' : 'danger', onclick: async (ev) => {
      ev.target.disabled = true;
      try { await toggleRevoke(id, revoked); } catch (e) { revBox.append(status('bad', e.message)); }
      refresh();
    } }, revoked ? 'Unrevoke' : 'Revoke');
    if (rev.r) {
      const r = rev.r;
      revBox.replaceChildren(...[h('h2', { id: 'h-rev' }, 'Revocation'),
        status('bad', `Revoked ${r.type === 'auto' ? 'by the detector' : 'by ' + (r.by || 'an operator')}: ${r.reason || '(no reason given)'}`),
        kv([['revoked', when(r.revoked_at)], ['expires', r.expires_at ? when(r.expires_at) : 'never (until unrevoked)'], ['score', r.score ? r.score.toFixed(2) : '']]),
        r.explanation ? h('ul', {}, r.explanation.map((l) => h('li', {}, l))) : null, evidence(r.evidence), h('div', { className: 'actions' }, button)].filter(Boolean));
    } else if (rev.none) {
      revBox.replaceChildren(h('h2', { id: 'h-rev' }, 'Revocation'), status('ok', 'Not revoked.'), h('div', { className: 'actions' }, button));
    } else {
      revBox.replaceChildren(h('h2', { id: 'h-rev' }, 'Revocation'), status('bad', `Cannot read it: ${rev.e.message}`));
    }

    if (det.r) {
      const d = det.r;
      const parts = [h('h2', { id: 'h-det' }, 'Detector')];
      if (d.live) {
        for (const s of d.live.scores) {
          parts.push(h('h3', {}, `${s.scorer} (${s.role}): ${s.score.toFixed(2)} of ${s.threshold}${s.over ? ', over' : ''}`),
            h('ul', {}, (s.explanation || []).map((l) => h('li', {}, l))));
        }
        if (d.live.evidence) parts.push(evidence(d.live.evidence));
      } else {
        parts.push(status('', d.live_note || 'No detector holds the session now.'));
      }
      for (const dec of d.decisions || []) {
        parts.push(h('p', { className: 'hint' }, `Decision of ${dec.scorer} ${when(dec.time)}: score ${dec.score.toFixed(2)}, ${dec.outcome || (dec.active ? 'active' : 'shadow')}.`));
      }
      detBox.replaceChildren(...parts);
    } else {
      detBox.replaceChildren(h('h2', { id: 'h-det' }, 'Detector'), status('warn', `Cannot read it: ${det.e.message}`));
    }

    if (tl.r) renderTimeline(tl.r);
    else tlBox.replaceChildren(h('h2', { id: 'h-tl' }, 'Timeline, last 15 minutes'), status('warn', `Cannot read it: ${tl.e.message}`));
    timer = setTimeout(refresh, 5000);
  }

  function renderTimeline(t) {
    const verdicts = Object.keys(t.verdicts).sort();
    const chartBox = h('div', { className: 'chart', role: 'img', 'aria-label': `Requests per ${t.bucket_seconds} s by verdict, addresses, and bytes sent` });
    const summary = kv([
      ['requests', String(t.requests)], ['bytes', bytes(t.bytes)],
      ['verdicts', verdicts.map((v) => `${v} ${t.verdicts[v]}`).join(', ') || '–'],
      ['note', t.partial ? 'the stream was not read to the end in time: counts stop earlier' : ''],
    ]);
    const viewers = table('Viewers', ['Address', 'Country', 'User agent', 'First', 'Last', 'Requests', 'Bytes', 'Verdicts'],
      t.viewers.map((v) => [v.ip, v.country || '–', v.user_agent || '–', when(v.first), when(v.last), String(v.requests), bytes(v.bytes),
        Object.entries(v.verdicts).map(([k, n]) => `${k} ${n}`).join(', ')]));
    const events = table('Latest requests', ['Time', 'Verdict', 'Status', 'Address', 'Country', 'Path', 'Bytes', 'Edge'],
      t.events.slice(-25).reverse().map((e) => [new Date(e.time).toLocaleTimeString(),
        h('span', { className: 'badge ' + (e.verdict === 'allow' ? 'ok' : e.verdict === 'unchecked' ? 'muted' : 'bad') }, e.reason && e.reason !== e.verdict ? `${e.verdict}: ${e.reason}` : e.verdict),
        String(e.status), e.ip, e.country || '–', e.path || '–', bytes(e.bytes), e.edge_id]));
    tlBox.replaceChildren(h('h2', { id: 'h-tl' }, 'Timeline, last 15 minutes'), summary, chartBox,
      h('h3', {}, `Viewers (${t.viewers.length}${t.other_viewers ? ` and ${t.other_viewers} more` : ''})`), viewers,
      h('h3', {}, `Latest requests (the last ${Math.min(25, t.events.length)} of ${t.requests})`), events);
    if (plot) plot.destroy();
    const xs = t.buckets.map((b) => Date.parse(b.time) / 1000);
    const names = verdicts.length ? verdicts : ['allow'];
    const data = [xs, ...names.map((v) => t.buckets.map((b) => b.verdicts[v] || 0)), t.buckets.map((b) => b.addresses),
      t.buckets.map((b) => b.bytes / 1024)];
    plot = new window.uPlot({
      width: Math.max(280, chartBox.clientWidth || 600), height: 240, scales: { x: { time: true }, kib: {} },
      series: [{}, ...names.map((v, i) => ({ label: v, stroke: COLORS[i % COLORS.length], width: 2 })),
        { label: 'addresses', stroke: '#37474f', dash: [4, 4], width: 1 },
        { label: 'KiB', scale: 'kib', stroke: '#6a1b9a', fill: 'rgba(106,27,154,0.08)', width: 1 }],
      axes: [{}, { label: 'requests' }, { scale: 'kib', side: 1, label: 'KiB', grid: { show: false } }],
    }, data, chartBox);
  }

  refresh();
  return () => { stopped = true; clearTimeout(timer); if (plot) plot.destroy(); };
}
