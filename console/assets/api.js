// The HTTP API (docs/http.md), as the console uses it. The token lives in
// sessionStorage only: it is sent as "Authorization: Bearer", never put in
// a URL or a cookie, and it is gone when the tab closes.

import { fromBase64 } from './bytes.js';

const tokenKey = 'vkv.token';

// token returns the token entered in this tab, or "".
export function token() {
  return sessionStorage.getItem(tokenKey) || '';
}

// setToken keeps t for this tab ("" forgets it).
export function setToken(t) {
  if (t) sessionStorage.setItem(tokenKey, t);
  else sessionStorage.removeItem(tokenKey);
}

// APIError is a response that is not a success, with its problem body
// (RFC 9457) when it has one.
export class APIError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.type = (this.problem.type || '').replace(/^.*#/, '');
  }
}

// request sends one request to the API with the token, and returns the
// response if it is a success; else it throws an APIError.
export async function request(method, path, { body, headers, signal } = {}) {
  const hd = new Headers(headers || {});
  const t = token();
  if (t) hd.set('Authorization', 'Bearer ' + t);
  const res = await fetch(path, { method, headers: hd, body, signal, cache: 'no-store', credentials: 'omit', redirect: 'error' });
  if (res.ok) return res;
  let problem = null;
  try {
    problem = await res.json();
  } catch {
    problem = null;
  }
  throw new APIError(res.status, problem);
}

// entryOf returns the entry a GET answered, from its headers and body.
async function entryOf(res) {
  const hd = res.headers;
  return {
    version: Number(hd.get('Vkv-Version')),
    createVersion: Number(hd.get('Vkv-Create-Version') || 0),
    expiresAt: hd.get('Vkv-Expires-At') || null,
    value: new Uint8Array(await res.arrayBuffer()),
  };
}

// get reads a key (escaped), at version if given; null if it does not exist.
export async function get(key, version) {
  const q = version ? '?version=' + encodeURIComponent(version) : '';
  try {
    return await entryOf(await request('GET', '/v1/kv/' + key + q));
  } catch (e) {
    if (e instanceof APIError && e.status === 404 && e.type === 'not-found') return null;
    throw e;
  }
}

// list returns one page of keys under prefix after the key after
// (exclusive): {items, next}. opts.version lists the store as it was at a
// version, for a server whose listing takes ?version= (not sent otherwise).
export async function list(prefix, after, limit, opts = {}) {
  const q = new URLSearchParams();
  if (prefix) q.set('prefix', prefix);
  if (after) q.set('after', after);
  if (limit) q.set('limit', String(limit));
  if (opts.version) q.set('version', String(opts.version));
  const res = await request('GET', '/v1/kv?' + q);
  return res.json();
}

// history returns every version the store keeps of key, newest first, each
// with its value as bytes (null for a delete).
export async function history(key) {
  const res = await request('GET', '/v1/history/' + key);
  const h = await res.json();
  return h.versions.map((v) => ({ ...v, value: v.deleted ? null : fromBase64(v.value) }));
}

// put writes value to key: expected is the version the write is conditional
// on (If-Match), 0 for create-only, undefined for no condition. It returns
// the new version; a failed condition throws an APIError (409 or 412) whose
// problem carries the current entry.
export async function put(key, value, expected) {
  // return=representation: a failed condition's answer carries the current
  // value, for the conflict view.
  const headers = { Prefer: 'return=representation' };
  let q = '';
  if (expected === 0) q = '?version=0';
  else if (expected !== undefined) headers['If-Match'] = `"${expected}"`;
  const res = await request('PUT', '/v1/kv/' + key + q, { body: value, headers });
  return (await res.json()).version;
}

// del deletes key at version expected (If-Match).
export async function del(key, expected) {
  const res = await request('DELETE', '/v1/kv/' + key, { headers: { 'If-Match': `"${expected}"`, Prefer: 'return=representation' } });
  return (await res.json()).version;
}

// storeVersion returns the store's newest version (GET /healthz), or
// undefined when the server does not tell it.
export async function storeVersion() {
  const res = await fetch('/healthz', { cache: 'no-store', credentials: 'omit' });
  const v = res.headers.get('Vkv-Store-Version');
  return v ? Number(v) : undefined;
}

// conflictOf returns the current entry a 409 or 412 carries:
// {version, value (null when the key does not exist), createVersion, expiresAt}.
export function conflictOf(err) {
  const p = err.problem;
  return {
    version: p.currentVersion || 0,
    value: p.currentValue === undefined || p.currentValue === null ? null : fromBase64(p.currentValue),
    createVersion: p.currentCreateVersion || 0,
    expiresAt: p.currentExpiresAt || null,
  };
}

// isConflict reports whether err is a failed condition (409 conflict or
// 412 precondition-failed).
export function isConflict(err) {
  return err instanceof APIError && (err.type === 'conflict' || err.type === 'precondition-failed');
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

// watch follows the change feed under prefix from version from (undefined:
// from now on) until signal aborts. onEvent gets each change ({key, version,
// value, deleted, ...} as the API sends it) or {resync: true} when changes
// may have been missed (the feed was compacted past the last one seen).
// onState gets "live", "reconnecting", "signin", "forbidden" or
// "unavailable" (a server without a change feed; no retry). After a
// dropped connection it reconnects with Last-Event-ID, the version of the
// last whole transaction seen (a change with txnEnd), so that no change is
// lost: a transaction cut in the middle comes again whole.
export function watch(prefix, from, onEvent, onState, signal) {
  let last = from;
  const run = async () => {
    while (!signal.aborted) {
      try {
        const hd = new Headers({ Accept: 'text/event-stream' });
        const t = token();
        if (t) hd.set('Authorization', 'Bearer ' + t);
        if (last !== undefined) hd.set('Last-Event-ID', String(last));
        const q = new URLSearchParams({ prefix });
        const res = await fetch('/v1/watch?' + q, { headers: hd, signal, cache: 'no-store', credentials: 'omit' });
        if (res.status === 401) return onState('signin');
        if (res.status === 403) return onState('forbidden');
        if (res.status === 410) {
          last = undefined;
          onEvent({ resync: true });
          continue;
        }
        if (res.status === 501 || (res.status >= 400 && res.status < 500)) return onState('unavailable');
        if (!res.ok) throw new Error('watch: HTTP ' + res.status);
        onState('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        let ev = { data: '' };
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i).replace(/\r$/, '');
            buf = buf.slice(i + 1);
            if (line === '') {
              if (ev.event === 'put' || ev.event === 'delete') {
                const change = JSON.parse(ev.data);
                if (change.txnEnd) last = change.version;
                else if (last === undefined) last = change.version - 1;
                onEvent(change);
              } else if (ev.event === 'error') {
                const p = JSON.parse(ev.data);
                if ((p.type || '').endsWith('#compacted')) {
                  last = undefined;
                  onEvent({ resync: true });
                }
              }
              ev = { data: '' };
            } else if (!line.startsWith(':')) {
              const c = line.indexOf(':');
              const field = c < 0 ? line : line.slice(0, c);
              const val = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
              if (field === 'data') ev.data += (ev.data ? '\n' : '') + val;
              else if (field === 'event') ev.event = val;
            }
          }
        }
      } catch {
        // A dropped connection or an abort: reconnect below unless aborted.
      }
      if (signal.aborted) return;
      onState('reconnecting');
      await sleep(1000, signal);
    }
  };
  run();
}
