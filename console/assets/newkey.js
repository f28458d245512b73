// The new-key page: a create-only write (version=0). A key that exists
// already opens its key page with the conflict view.

import { h, announce } from './dom.js';
import { put, isConflict, conflictOf, request } from './api.js';
import { escapeKey, encode } from './bytes.js';
import { crumbs } from './crumbs.js';
import { navigate, errorBox, fail } from './app.js';

// newPage renders /ui/new?prefix=P.
export async function newPage(ctx, params) {
  const { main } = ctx;
  // Sign in first if needed (rather than after the person typed a value),
  // and learn the limits to tell them.
  const limits = await (await request('GET', '/v1/limits')).json();
  const prefix = params.get('prefix') || '';
  const keyIn = h('input', { id: 'key', type: 'text', value: prefix, required: true, autocomplete: 'off', spellcheck: 'false' });
  const valueIn = h('textarea', { id: 'value', spellcheck: 'false' });
  const messages = h('div');
  const form = h('form', { 'aria-label': 'New key' },
    h('div', { class: 'row' }, h('label', { for: 'key' }, 'Key'), keyIn),
    h('div', null, h('label', { for: 'value' }, 'Value')), valueIn,
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Create')),
    messages);
  main.append(crumbs(prefix, true), h('h1', { tabindex: -1 }, 'New key'),
    h('p', { class: 'muted' }, 'Create writes the key only if it does not exist: if someone else has it, you see both values and choose. ',
      `This server takes keys of up to ${limits.maxKeySize} bytes and values of up to ${limits.maxValueSize} bytes.`),
    form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    messages.replaceChildren();
    const name = keyIn.value;
    if (name === '') {
      messages.append(h('p', { class: 'error', role: 'alert' }, 'Give the key a name.'));
      keyIn.focus();
      return;
    }
    const key = escapeKey(name);
    const mine = encode(valueIn.value);
    try {
      const v = await put(key, mine, 0);
      navigate('/ui/kv/' + key);
      announce(`Created at version ${v}.`);
    } catch (err) {
      if (isConflict(err)) navigate('/ui/kv/' + key, { conflict: { op: 'put', base: null, mine, theirs: conflictOf(err) } });
      else if (err.status === 401) fail(err);
      else messages.append(errorBox(err));
    }
  });
}
