// jwt.js: decodes an SMDE token segment ("[session.]header.payload.sig")
// for display. It checks nothing: only the edge, with the key, can.

function b64urlDecode(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

// tokenOf returns the token segment of a playback URL.
export function tokenOf(playbackURL) {
  const u = new URL(playbackURL);
  return u.pathname.split('/')[1] || '';
}

// decode splits and decodes a token segment.
export function decode(segment) {
  const parts = segment.split('.');
  if (parts.length !== 3 && parts.length !== 4) throw new Error('not [session.]header.payload.signature');
  const session = parts.length === 4 ? parts[0] : '';
  const [h, p, sig] = parts.slice(-3);
  return { session, header: JSON.parse(b64urlDecode(h)), payload: JSON.parse(b64urlDecode(p)), signature: sig };
}

// humanTime says a unix time as a local date-time and relative to now.
export function humanTime(unix, now = Date.now()) {
  const t = new Date(unix * 1000);
  const d = Math.round((unix * 1000 - now) / 1000);
  const abs = Math.abs(d);
  let rel;
  if (abs < 90) rel = `${abs} s`;
  else if (abs < 5400) rel = `${Math.round(abs / 60)} min`;
  else rel = `${(abs / 3600).toFixed(1)} h`;
  return `${t.toLocaleString()} (${d >= 0 ? 'in ' + rel : rel + ' ago'})`;
}
