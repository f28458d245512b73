// The prefix as a path to click through: all keys › app/ › web/.

import { h } from './dom.js';

// listURL returns the address of the listing of prefix.
export function listURL(prefix) {
  return prefix ? '/ui/?' + new URLSearchParams({ prefix }) : '/ui/';
}

// crumbs returns the navigation for prefix; the last part is the current
// page unless linkLast.
export function crumbs(prefix, linkLast) {
  const parts = prefix.split('/');
  const items = [h('li', null, h('a', { href: listURL('') }, 'All keys'))];
  let acc = '';
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === '' && i === parts.length - 1) break;
    acc += parts[i] + (i < parts.length - 1 ? '/' : '');
    const label = parts[i] + (i < parts.length - 1 ? '/' : '');
    const last = acc === prefix && !linkLast;
    items.push(h('li', null, last ? h('span', { 'aria-current': 'page' }, label) : h('a', { href: listURL(acc) }, label)));
  }
  return h('nav', { class: 'crumbs', 'aria-label': 'Prefix' }, h('ol', null, items));
}
