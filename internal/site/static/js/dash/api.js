// api.js: the dashboard's calls. API calls go through
// /dashboard/api/v1/..., where the server adds the operator's key; every
// state change carries the login's CSRF token.
import { request } from '../api.js';

let csrf = '';
export function setCSRF(token) { csrf = token; }

export function get(path) { return request('GET', '/dashboard/api' + path); }
export function send(method, path, body) { return request(method, '/dashboard/api' + path, body, { 'X-CSRF-Token': csrf }); }
