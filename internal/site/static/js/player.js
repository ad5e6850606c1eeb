// player.js: plays an HLS stream with hls.js and a DASH stream with
// dash.js in a <video>, with short buffers so that a refused token stops
// playback within seconds, and reports a fatal error once.

// Buffers of a few segments: the edge's refusal reaches the player at its
// next request, not after half a minute of buffered video.
const BUFFER_S = 4;

export function play(video, protocol, url, onFatal) {
  let failed = false;
  const fail = (what) => {
    if (failed) return;
    failed = true;
    onFatal(what);
  };
  if (protocol === 'hls') {
    if (!window.Hls || !window.Hls.isSupported()) {
      fail('this browser cannot play HLS with hls.js (no Media Source Extensions)');
      return { destroy() {} };
    }
    const hls = new window.Hls({
      maxBufferLength: BUFFER_S, maxMaxBufferLength: BUFFER_S * 2, backBufferLength: 10,
      liveSyncDurationCount: 3, enableWorker: true,
    });
    hls.on(window.Hls.Events.ERROR, (_e, data) => {
      const code = data.response && data.response.code;
      // The edge's 401, 403 or 410 is its final word on the token: do
      // not wait for hls.js to try every rendition first.
      const refused = code === 401 || code === 403 || code === 410;
      if (!data.fatal && !refused) return;
      fail(code ? `HTTP ${code} on ${data.details}` : data.details);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    video.play().catch(() => {});
    return { destroy() { hls.destroy(); } };
  }
  if (!window.dashjs) {
    fail('dash.js did not load');
    return { destroy() {} };
  }
  const player = window.dashjs.MediaPlayer().create();
  player.updateSettings({
    debug: { logLevel: window.dashjs.Debug.LOG_LEVEL_NONE },
    streaming: {
      buffer: { bufferTimeAtTopQuality: BUFFER_S, bufferTimeAtTopQualityLongForm: BUFFER_S, bufferTimeDefault: BUFFER_S, bufferToKeep: 10 },
      retryAttempts: { MPD: 1, MediaSegment: 1, InitializationSegment: 1 },
      retryIntervals: { MPD: 500, MediaSegment: 500, InitializationSegment: 500 },
    },
  });
  player.on(window.dashjs.MediaPlayer.events.ERROR, (e) => {
    const err = e && e.error;
    fail(err ? `${err.message || 'error'} (code ${err.code})` : 'playback error');
  });
  player.initialize(video, url, true);
  return { destroy() { player.reset(); } };
}
