// What the signed-in principal may do, from GET /v1/whoami, so that a page
// shows what it may not do disabled, and says why, before the person tries.
// The API stays the judge: a server whose authorizer cannot list grants, or
// grants changed since (a reload), still answer 403, and the pages explain
// that as before.

import { h } from './dom.js';
import { request, APIError } from './api.js';
import { fromBase64, lossyText, encode } from './bytes.js';

// whoami returns the principal and its grants:
// {principal, authentication, grants: [{bytes, name, access}]}; null when
// they are not known (a server from before /v1/whoami, an authorizer that
// cannot list grants, no credentials yet): then every control stays enabled
// and a 403 is explained when it comes.
export async function whoami(signal) {
  let w;
  try {
    w = await (await request('GET', '/v1/whoami', { signal })).json();
  } catch (e) {
    if (e instanceof APIError || (signal && signal.aborted)) return null;
    throw e;
  }
  if (!w || !w.grantsKnown || !Array.isArray(w.grants)) return null;
  return {
    principal: w.principal || '',
    authentication: !!w.authentication,
    grants: w.grants.map((g) => {
      const bytes = g.prefixBase64 ? fromBase64(g.prefixBase64) : encode(g.prefix);
      return { bytes, name: lossyText(bytes), access: g.access };
    }),
  };
}

// startsWith reports whether the bytes b start with the bytes p.
function startsWith(b, p) {
  if (p.length > b.length) return false;
  for (let i = 0; i < p.length; i++) if (b[i] !== p[i]) return false;
  return true;
}

const covers = (have, want) => have === 'write' || (have === 'read' && want === 'read');

// lacks reports whether who lacks access ("read" or "write") on the key
// with the bytes key, or, for a range, on every key that starts with them
// (the API's rule: a grant covers what starts with its prefix, byte for
// byte). Unknown grants (who null) lack nothing.
export function lacks(who, access, key) {
  if (!who) return false;
  return !who.grants.some((g) => covers(g.access, access) && startsWith(key, g.bytes));
}

// mayWriteUnder reports whether who may write some key that starts with
// prefix (the bytes): a write grant inside the prefix or over it.
export function mayWriteUnder(who, prefix) {
  if (!who) return true;
  return who.grants.some((g) => g.access === 'write' && (startsWith(prefix, g.bytes) || startsWith(g.bytes, prefix)));
}

// grantsText lists who's grants: `read on "app/", write on "app/w/"`.
export function grantsText(who) {
  if (who.grants.length === 0) return 'none';
  return who.grants.map((g) => `${g.access} on ${g.name === '' ? 'every key' : `"${g.name}"`}`).join(', ');
}

// deniedNote returns the explanation of a missing grant: who, which access,
// on what (a key, or the keys under a prefix), and the grants it has. id
// names it for the aria-describedby of the controls it disables.
export function deniedNote(id, who, access, what, rest) {
  return h('p', { id, class: 'notice denied' },
    h('strong', null, 'Not allowed. '),
    `Principal ${who.principal} has no ${access} grant on ${what}; its grants: ${grantsText(who)}. `,
    rest || '');
}

// keyWhat and prefixWhat name a key or a range in a deniedNote.
export const keyWhat = (name) => `the key "${name}"`;
export const prefixWhat = (name) => (name === '' ? 'every key' : `the keys under "${name}"`);
