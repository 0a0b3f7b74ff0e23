// Every request the console makes: same origin, the signed-in token (if any) as a bearer token,
// problem details turned into errors that carry their stable code.

const TOKEN_KEY = 'starpets.console.token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/** Sends a request and returns { body, response }; throws ApiError on a non-2xx answer. */
export async function request(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const h = { Accept: 'application/json', ...headers };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers: h, signal, cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!response.ok) {
    throw new ApiError(response.status, json?.code, json?.detail || json?.title || response.statusText);
  }
  return { body: json, response };
}

export async function get(path, options) {
  return (await request(path, options)).body;
}

export function enc(name) {
  return encodeURIComponent(name);
}
