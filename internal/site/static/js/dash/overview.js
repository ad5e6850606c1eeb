// overview.js: live charts of the edge (requests per second by verdict,
// cache hit ratio, origin requests and latency, token verification time)
// and the "simulate piracy" button.
import { h, status, when } from '../dom.js';
import { get, send } from './api.js';

const COLORS = ['#116b2f', '#a4161a', '#0b5cad', '#7a4b00', '#6a1b9a', '#00695c', '#c2185b', '#37474f', '#ef6c00', '#283593'];

function chart(title, el, series, data) {
  const width = Math.max(280, el.clientWidth - 8);
  const opts = {
    title, width, height: 200,
    scales: { x: { time: true } },
    series: [{}, ...series.map((s, i) => ({ label: s, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false }))],
    axes: [{}, { size: 60 }],
  };
  return new window.uPlot(opts, data, el);
}

export function overview(view, ctx) {
  const charts = {};
  const boxes = {};
  const grid = h('div', { className: 'charts' });
  for (const [id, title] of [['requests', 'Requests per second, by verdict'], ['hit', 'Cache hit ratio'], ['origin', 'Origin requests per second'], ['latency', 'Origin latency (ms) and token verification (µs)']]) {
    boxes[id] = h('div', { className: 'chart', id: `chart-${id}`, role: 'img', 'aria-label': title });
    grid.append(h('section', { className: 'panel' }, boxes[id]));
  }
  const simStatus = h('div', { className: 'status', role: 'status' }, 'The simulator plays legitimate viewers and pirates (shared tokens, a restreamer, a downloader, …) against this stack for 90 s; watch them get caught on the Sessions page.');
  const simReport = h('pre', { hidden: true });
  const simButton = h('button', { type: 'button', hidden: !ctx.me.simulate, onclick: async () => {
    simButton.disabled = true;
    try {
      await send('POST', '/simulate');
      pollSim();
    } catch (e) {
      simStatus.className = 'status bad';
      simStatus.textContent = `Cannot start the simulator: ${e.message}`;
      simButton.disabled = false;
    }
  } }, 'Simulate piracy');
  const note = h('p', { className: 'hint' }, 'Each chart shows the last five minutes of this edge, one point a second.');
  const err = h('div', { hidden: true });
  view.append(h('section', { className: 'panel' }, h('h2', {}, 'Simulate piracy'), h('div', { className: 'actions' }, simButton), simStatus, simReport), note, err, grid);

  let simTimer = null;
  async function pollSim() {
    clearTimeout(simTimer);
    try {
      const st = await get('/simulate');
      simButton.disabled = st.running;
      if (st.running) {
        simStatus.className = 'status warn';
        simStatus.textContent = `Simulation running since ${when(st.started)}: see the Sessions page.`;
        simTimer = setTimeout(pollSim, 2000);
      } else if (st.finished) {
        simStatus.className = st.error ? 'status bad' : 'status ok';
        simStatus.textContent = st.error ? `The simulation failed: ${st.error}` : `Simulation finished ${when(st.finished)}.`;
        simReport.hidden = !st.report;
        simReport.textContent = st.report || '';
      }
    } catch (e) {
      if (e.status === 401) ctx.onAuthLost('Your login expired: log in again.');
    }
  }
  if (ctx.me.simulate) pollSim();

  async function refresh() {
    let s;
    try {
      s = await get('/metrics');
      err.hidden = true;
    } catch (e) {
      if (e.status === 401) { ctx.onAuthLost('Your login expired: log in again.'); return; }
      err.hidden = false;
      err.replaceChildren(status('bad', `Cannot read the metrics: ${e.message}`));
      return;
    }
    const keys = Object.keys(s.requests).sort((a, b) => (a === 'allow' ? -1 : b === 'allow' ? 1 : a.localeCompare(b)));
    const sets = {
      requests: [keys.length ? keys : ['allow'], [s.t, ...(keys.length ? keys.map((k) => s.requests[k]) : [s.t.map(() => 0)])]],
      hit: [['hit ratio'], [s.t, s.cache_hit_ratio]],
      origin: [['requests', 'errors'], [s.t, s.origin_rps, s.origin_errors_ps]],
      latency: [['origin ms', 'verify µs'], [s.t, s.origin_ms, s.verify_us]],
    };
    for (const [id, [names, data]] of Object.entries(sets)) {
      const c = charts[id];
      const same = c && c.series.length === names.length + 1 && names.every((n, i) => c.series[i + 1].label === n);
      if (same) c.setData(data);
      else {
        if (c) c.destroy();
        boxes[id].textContent = '';
        charts[id] = chart(boxes[id].getAttribute('aria-label'), boxes[id], names, data);
      }
    }
  }
  refresh();
  const timer = setInterval(refresh, 2000);
  return () => {
    clearInterval(timer);
    clearTimeout(simTimer);
    for (const c of Object.values(charts)) c.destroy();
  };
}
