// api.js: JSON requests to smd's API and the site's endpoints. Errors
// carry the answer's reason code and message, so the page can say them.

export class APIError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || `http_${status}`;
  }
}

// request sends a request and returns the decoded JSON answer (null for
// 204); it throws APIError for an error answer or a network failure.
export async function request(method, url, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    throw new APIError(0, 'network', `cannot reach smd (${e.message}): is smd demo still running?`);
  }
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!resp.ok) {
    throw new APIError(resp.status, data && data.error, (data && data.message) || text.trim() || resp.statusText);
  }
  return data;
}

export const getJSON = (url, headers) => request('GET', url, undefined, headers);
export const postJSON = (url, body, headers) => request('POST', url, body, headers);
