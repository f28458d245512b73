// The console's entry point: the router, the sign-in form and what every
// page shares. Each address is a page (see the package doc of console):
//   /ui/?prefix=P   listing      /ui/kv/{key}[?version=N]   key page
//   /ui/new?prefix=P   new key

import { h, clear } from './dom.js';
import { APIError, setToken, token } from './api.js';
import { listPage } from './list.js';
import { keyPage } from './key.js';
import { newPage } from './newkey.js';
import { whoami } from './perms.js';

const main = document.getElementById('main');
const liveEl = document.getElementById('live');
const signout = document.getElementById('signout');
let current = null; // the AbortController of the page shown

// handoff carries state from one page to the next (a draft and its
// conflict, from the new-key page to the key page); taken once.
let handoff = null;

// navigate shows url as a new page, with its own history entry.
export function navigate(url, state) {
  handoff = state || null;
  history.pushState(null, '', url);
  route();
}

// replaceQuery changes the address of the page shown without a new page
// (the listing's filter and page).
export function replaceQuery(url) {
  history.replaceState(null, '', url);
}

// live shows the state of the change feed.
function live(state) {
  liveEl.textContent = {
    live: 'Live: changes appear as they happen',
    reconnecting: 'Reconnecting to the change feed…',
    forbidden: 'Not live: your credentials cannot watch here',
    unavailable: 'Not live: this server offers no change feed',
    signin: '',
    off: '',
  }[state] ?? '';
  if (state === 'signin') showSignIn('Your token was not accepted: sign in again.');
}

// fail shows err in place of a page, or the sign-in form for a 401.
export function fail(err, where) {
  if (err instanceof APIError && err.status === 401) {
    showSignIn(token() ? 'The server did not accept this token.' : 'This server needs a token.');
    return;
  }
  clear(where || main);
  (where || main).append(errorBox(err));
}

// errorBox explains err: a 403 says which access the credentials lack.
export function errorBox(err) {
  if (err instanceof APIError && err.status === 403) {
    const p = err.problem;
    const what = p.prefix !== undefined ? `keys under "${p.prefix}"` : p.key !== undefined ? `the key "${p.key}"` : 'this';
    return h('div', { class: 'error', role: 'alert' },
      h('strong', null, 'Not allowed. '),
      `Your credentials${p.principal ? ` (principal ${p.principal})` : ''} do not grant ${p.access || 'access'} on ${what}. `,
      'Ask the server\'s operator for a grant, or sign in with other credentials.');
  }
  if (err instanceof APIError) {
    return h('div', { class: 'error', role: 'alert' },
      h('strong', null, (err.problem.title || `HTTP ${err.status}`) + '. '), err.problem.detail || '');
  }
  return h('div', { class: 'error', role: 'alert' }, h('strong', null, 'Error. '), String(err && err.message ? err.message : err));
}

// showSignIn replaces the page with the token form.
function showSignIn(why) {
  if (current) current.abort();
  current = new AbortController();
  setToken(''); // a token the server refused is not kept
  signout.hidden = true;
  clear(main);
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const form = h('form', {
    onsubmit: (e) => {
      e.preventDefault();
      setToken(input.value.trim());
      route();
    },
  },
  h('div', { class: 'row' }, h('label', { for: 'token' }, 'Token'), input, h('button', { type: 'submit' }, 'Sign in')),
  h('p', { id: 'token-help', class: 'muted' },
    'The bearer token of a principal (vkv token new prints one). It is kept in this tab only (sessionStorage) and sent in the Authorization header.'));
  main.append(h('h1', { tabindex: -1 }, 'Sign in'), h('p', { role: 'alert' }, why), form);
  input.focus();
  main.dataset.ready = '1';
}

// route shows the page of the current address.
export function route() {
  if (current) current.abort();
  current = new AbortController();
  // who: what the principal may do (GET /v1/whoami), asked again for every
  // page so that a reload of the server's grants shows at the next page.
  const ctx = { main, signal: current.signal, live, handoff, who: whoami(current.signal).catch(() => null) };
  handoff = null;
  main.dataset.ready = '0';
  signout.hidden = !token();
  live('off');
  clear(main);
  const u = new URL(location.href);
  const p = u.pathname;
  let page;
  if (p === '/ui/') page = listPage(ctx, u.searchParams);
  else if (p === '/ui/new') page = newPage(ctx, u.searchParams);
  else if (p.startsWith('/ui/kv/') && p.length > '/ui/kv/'.length) page = keyPage(ctx, location.pathname.slice('/ui/kv/'.length), u.searchParams);
  else {
    main.append(h('h1', { tabindex: -1 }, 'Not found'), h('p', null, h('a', { href: '/ui/' }, 'Go to the keys')));
    main.dataset.ready = '1';
    return;
  }
  Promise.resolve(page)
    .then(() => {
      // Move the focus to the new page's heading, for keyboards and screen readers.
      const h1 = main.querySelector('h1');
      if (h1 && !main.contains(document.activeElement)) h1.focus();
      main.dataset.ready = '1';
    })
    .catch((err) => {
      fail(err);
      main.dataset.ready = '1';
    });
}

// Links inside the console change the page without a reload.
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const u = new URL(a.href);
  if (u.origin !== location.origin || !u.pathname.startsWith('/ui/') || u.pathname.startsWith('/ui/assets/')) return;
  e.preventDefault();
  navigate(u.pathname + u.search);
});
window.addEventListener('popstate', route);
// Leaving the console ends its change feed at once: an open stream would
// hold one of the browser's few connections to the server.
window.addEventListener('pagehide', () => {
  if (current) current.abort();
});
signout.addEventListener('click', () => {
  setToken('');
  route();
});

route();
