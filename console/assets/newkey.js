// The new-key page: a create-only write (version=0). A key that exists
// already opens its key page with the conflict view.

import { h, announce } from './dom.js';
import { put, isConflict, conflictOf, request } from './api.js';
import { escapeKey, encode } from './bytes.js';
import { crumbs } from './crumbs.js';
import { navigate, errorBox, fail } from './app.js';
import { lacks, grantsText } from './perms.js';

// newPage renders /ui/new?prefix=P.
export async function newPage(ctx, params) {
  const { main } = ctx;
  // Sign in first if needed (rather than after the person typed a value),
  // and learn the limits to tell them.
  const limits = await (await request('GET', '/v1/limits')).json();
  const who = await ctx.who;
  const prefix = params.get('prefix') || '';
  const keyIn = h('input', { id: 'key', type: 'text', value: prefix, required: true, autocomplete: 'off', spellcheck: 'false' });
  const valueIn = h('textarea', { id: 'value', spellcheck: 'false' });
  const messages = h('div');
  const create = h('button', { type: 'submit' }, 'Create');
  // Create is disabled, and says why, while the principal may not write
  // the key typed (GET /v1/whoami); a 403 is still explained below.
  const denied = h('p', { id: 'create-denied', class: 'notice denied', hidden: true });
  const check = () => {
    const no = keyIn.value !== '' && lacks(who, 'write', encode(keyIn.value));
    create.disabled = no;
    denied.hidden = !no;
    if (no) {
      create.setAttribute('aria-describedby', 'create-denied');
      denied.textContent = `Not allowed. Principal ${who.principal} has no write grant on the key "${keyIn.value}"; ` +
        `its grants: ${grantsText(who)}. Create is disabled.`;
    } else {
      create.removeAttribute('aria-describedby');
    }
  };
  keyIn.addEventListener('input', check);
  const form = h('form', { 'aria-label': 'New key' },
    h('div', { class: 'row' }, h('label', { for: 'key' }, 'Key'), keyIn),
    h('div', null, h('label', { for: 'value' }, 'Value')), valueIn,
    h('div', { class: 'row' }, create),
    denied,
    messages);
  main.append(crumbs(prefix, true), h('h1', { tabindex: -1 }, 'New key'),
    h('p', { class: 'muted' }, 'Create writes the key only if it does not exist: if someone else has it, you see both values and choose. ',
      `This server takes keys of up to ${limits.maxKeySize} bytes and values of up to ${limits.maxValueSize} bytes.`),
    form);
  check();
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
