// The listing: the keys under a prefix, a page at a time as the API pages
// them, narrowed as you type, following the change feed.

import { h, clear, announce } from './dom.js';
import { list, storeVersion, watch } from './api.js';
import { keyOf, encode } from './bytes.js';
import { lacks, mayWriteUnder, deniedNote, prefixWhat, grantsText } from './perms.js';
import { crumbs, listURL } from './crumbs.js';
import { replaceQuery, errorBox } from './app.js';

// pageSize is the number of keys a page shows: the API's default page.
const pageSize = 100;

// listPage renders /ui/?prefix=P[&filter=F][&after=K].
export async function listPage(ctx, params) {
  const prefix = params.get('prefix') || '';
  let filter = params.get('filter') || '';
  let after = params.get('after') || '';
  const back = []; // the "after" of each earlier page, for Previous
  const { main, signal } = ctx;
  const who = await ctx.who;

  const input = h('input', { id: 'filter', type: 'search', value: filter, autocomplete: 'off', 'aria-describedby': 'filter-help' });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const prev = h('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = h('button', { type: 'button', class: 'secondary' }, 'Next page');
  const errors = h('div');
  main.append(
    crumbs(prefix, false),
    h('h1', { tabindex: -1 }, prefix ? `Keys under ${prefix}` : 'All keys'),
    h('div', { class: 'row' },
      h('label', { for: 'filter' }, 'Filter'), input,
      mayWriteUnder(who, encode(prefix))
        ? h('a', { class: 'button', href: '/ui/new?' + new URLSearchParams({ prefix }) }, 'New key')
        : h('button', { type: 'button', disabled: true, 'aria-describedby': 'new-denied' }, 'New key')),
    ...(mayWriteUnder(who, encode(prefix)) ? [] : [h('p', { id: 'new-denied', class: 'muted' },
      `New key is disabled: principal ${who.principal} has no write grant on any key${prefix ? ` under "${prefix}"` : ''} (its grants: ${grantsText(who)}).`)]),
    h('p', { id: 'filter-help', class: 'muted' }, 'Shows the keys that start with the prefix followed by what you type.'),
    errors,
    h('table', null,
      h('caption', { class: 'visually-hidden' }, 'Keys, their versions and expiry'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Version'), h('th', { scope: 'col' }, 'Expires'))),
      tbody),
    h('div', { class: 'pager' }, prev, next, status));

  let nextAfter = '';
  let loading = 0;
  const address = () => {
    const q = new URLSearchParams();
    if (prefix) q.set('prefix', prefix);
    if (filter) q.set('filter', filter);
    if (after) q.set('after', after);
    const s = q.toString();
    return '/ui/' + (s ? '?' + s : '');
  };

  // denied shows, in place of the keys, that the principal may not read
  // the range, and links to the prefixes under it that it may read.
  const denied = (range) => {
    clear(errors);
    clear(tbody);
    nextAfter = '';
    next.disabled = true;
    prev.disabled = true;
    status.textContent = '';
    const inside = who.grants.filter((g) => g.name.startsWith(range) && g.name !== range);
    errors.append(deniedNote('list-denied', who, 'read', prefixWhat(range),
      inside.length ? ['You may list: ', inside.map((g, i) => [i ? ', ' : '', h('a', { href: listURL(g.name) }, g.name)])] : ''));
    tbody.append(h('tr', null, h('td', { colspan: 3, class: 'muted' }, 'Not allowed to list these keys.')));
  };

  const load = async () => {
    const n = ++loading;
    if (lacks(who, 'read', encode(prefix + filter))) return denied(prefix + filter);
    let res;
    try {
      res = await list(prefix + filter, after, pageSize);
    } catch (err) {
      if (n !== loading) return;
      clear(errors);
      if (err.status === 401) throw err;
      errors.append(errorBox(err));
      clear(tbody);
      return;
    }
    if (n !== loading || signal.aborted) return;
    clear(errors);
    clear(tbody);
    for (const it of res.items) tbody.append(row(prefix, it));
    if (res.items.length === 0) tbody.append(h('tr', null, h('td', { colspan: 3, class: 'muted' }, filter ? 'No key starts with that.' : 'No keys here.')));
    nextAfter = res.next || '';
    next.disabled = !nextAfter;
    prev.disabled = back.length === 0 && !after;
    const first = back.length * pageSize + 1;
    status.textContent = res.items.length ? `Keys ${first}–${first + res.items.length - 1}${nextAfter ? ', more on the next page' : ''}` : '';
  };

  let timer = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      filter = input.value;
      after = '';
      back.length = 0;
      replaceQuery(address());
      load().catch(() => {});
    }, 150);
  });
  next.addEventListener('click', () => {
    if (!nextAfter) return;
    back.push(after);
    after = nextAfter;
    replaceQuery(address());
    load().catch(() => {});
  });
  prev.addEventListener('click', () => {
    after = back.length ? back.pop() : '';
    replaceQuery(address());
    load().catch(() => {});
  });

  // Live: the feed from the version the listing starts at; a change under
  // the listed range reloads the page shown, at most a few times a second.
  const from = await storeVersion().catch(() => undefined);
  await load();
  if (lacks(who, 'read', encode(prefix))) {
    ctx.live('forbidden');
    return;
  }
  let pending = 0;
  watch(prefix, from, (change) => {
    if (!change.resync && !(change.key || '').startsWith(prefix + filter)) return;
    clearTimeout(pending);
    pending = setTimeout(() => {
      load().then(() => announce('The listing changed.')).catch(() => {});
    }, 100);
  }, ctx.live, signal);
}

// row returns the table row of one key: its name relative to the prefix,
// with the next level of the path as a link to narrow the listing.
function row(prefix, it) {
  const key = it.key;
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  const slash = rest.indexOf('/');
  const name = [];
  if (slash > 0 && slash < rest.length - 1) {
    const sub = prefix + rest.slice(0, slash + 1);
    name.push(h('a', { href: listURL(sub), class: 'folder' }, rest.slice(0, slash + 1)));
    name.push(h('a', { href: '/ui/kv/' + keyOf(it) }, rest.slice(slash + 1)));
  } else {
    name.push(h('a', { href: '/ui/kv/' + keyOf(it) }, rest || key));
  }
  return h('tr', null,
    h('td', { class: 'key' }, name),
    h('td', { class: 'num' }, String(it.version)),
    h('td', null, it.expiresAt ? new Date(it.expiresAt).toISOString() : h('span', { class: 'muted' }, 'never')));
}
