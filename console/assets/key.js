// The key page: value, versions and expiry, the editor (Save and Delete,
// both conditional on the version loaded), the conflict view, and the
// history as diffs. It follows the change feed of its key.

import { h, clear, announce } from './dom.js';
import { get, history, put, del, storeVersion, watch, isConflict, conflictOf, APIError } from './api.js';
import { canonical, keyName, keyOf, show, text, encode, binaryMode, setBinaryMode, lossyText, unescapeBytes } from './bytes.js';
import { lacks, deniedNote, keyWhat } from './perms.js';
import { crumbs } from './crumbs.js';
import { diffView, mergeText } from './diff.js';
import { conflictView } from './conflict.js';
import { errorBox, fail, navigate } from './app.js';

// keyPage renders /ui/kv/{key}[?version=N].
export async function keyPage(ctx, rawKey, params) {
  const { main, signal } = ctx;
  const key = canonical(rawKey);
  const name = keyName(key);
  const at = params.get('version');
  if (at !== null && !/^[0-9]+$/.test(at)) {
    main.append(h('h1', { tabindex: -1 }, name), errorBox(new Error(`version=${at} is not a version number`)));
    return;
  }
  const prefix = name.includes('/') ? name.slice(0, name.lastIndexOf('/') + 1) : '';

  // What the principal may not do here, known before it tries (GET
  // /v1/whoami); unknown grants deny nothing, and a 403 is explained when
  // it comes (forbidden, below).
  const who = await ctx.who;
  const keyBytes = unescapeBytes(key);
  if (lacks(who, 'read', keyBytes)) {
    main.append(crumbs(prefix, true), h('h1', { tabindex: -1 }, name),
      deniedNote('read-denied', who, 'read', keyWhat(name), 'Ask the server\'s operator for a grant, or sign in with other credentials.'));
    return;
  }
  const noWrite = lacks(who, 'write', keyBytes);
  const writeNote = noWrite
    ? deniedNote('write-denied', who, 'write', keyWhat(name), at === null ? 'Save and Delete are disabled.' : 'Restore this version is disabled.')
    : null;

  let entry = null; // the entry loaded: what Save and Delete are conditional on
  let baseText = ''; // the editor's text as loaded
  let dirty = false;
  let busy = false;

  const meta = h('dl', { class: 'meta' });
  const state = h('div');
  const lock = h('div');
  const shown = h('div');
  const messages = h('div', { 'aria-live': 'polite' });
  const changed = h('div', { class: 'notice', role: 'alert', hidden: true });
  const conflictBox = h('div');
  const editor = h('textarea', { id: 'value', spellcheck: 'false', 'aria-describedby': 'value-help' });
  const help = h('p', { id: 'value-help', class: 'muted' });
  const save = h('button', { type: 'submit', 'aria-describedby': noWrite ? 'write-denied' : null }, 'Save');
  const remove = h('button', { type: 'button', class: 'danger', 'aria-describedby': noWrite ? 'write-denied' : null }, 'Delete');
  const form = h('form', { 'aria-label': 'Edit the value' },
    h('div', null, h('label', { for: 'value' }, 'Value')), editor, help,
    writeNote,
    h('div', { class: 'row' }, save, remove));
  const histBody = h('tbody');
  const diffOut = h('div', { 'aria-live': 'polite' });
  const modeSel = h('select', { id: 'binary-mode' },
    h('option', { value: 'hex', selected: binaryMode() === 'hex' }, 'hex'),
    h('option', { value: 'base64', selected: binaryMode() === 'base64' }, 'base64'));

  main.append(
    crumbs(prefix, true),
    h('h1', { tabindex: -1 }, name),
    state, meta, lock, changed, shown, conflictBox, messages,
    at === null ? form : writeNote,
    h('h2', null, 'History'),
    h('p', { class: 'muted' }, 'Every version the store keeps, newest first; deletes and expiries included.'),
    h('table', null,
      h('caption', { class: 'visually-hidden' }, 'History of the key'),
      h('thead', null, h('tr', null, ['Version', 'Change', 'Value', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      histBody),
    diffOut);

  const say = (node) => {
    clear(messages);
    if (node) messages.append(node);
  };

  // renderEntry shows e (null: the key does not exist) and resets the editor.
  const renderEntry = (e, resetEditor) => {
    entry = e;
    clear(meta);
    clear(state);
    clear(lock);
    clear(shown);
    if (at !== null) {
      state.append(h('p', { class: 'notice' }, `You are reading version ${at}, an old version. `,
        h('a', { href: '/ui/kv/' + key }, 'Open the latest version')));
    }
    if (e === null) {
      state.append(h('p', { class: 'notice' }, at === null ? 'This key does not exist. Save creates it (only if nobody else creates it first).' : 'The key did not exist at that version.'));
    } else {
      meta.append(
        h('dt', null, 'Version'), h('dd', null, String(e.version)),
        h('dt', null, 'Created at version'), h('dd', null, String(e.createVersion || '')),
        h('dt', null, 'Expires'), h('dd', null, e.expiresAt ? new Date(e.expiresAt).toISOString() : 'never'));
      if (e.expiresAt) {
        lock.append(h('p', { class: 'lock' },
          h('strong', null, 'Lease. '),
          `If this key is a lock (vkv.AcquireLock writes a create-only key with a TTL), it is held by "${lossyText(e.value.subarray(0, 200))}" `,
          `since version ${e.createVersion} (its fencing token), until ${new Date(e.expiresAt).toISOString()} unless the holder refreshes it.`));
      }
      if (at !== null && text(e.value) !== null) {
        state.append(h('p', null, h('button', {
          type: 'button',
          class: 'secondary',
          disabled: noWrite,
          'aria-describedby': noWrite ? 'write-denied' : null,
          onclick: () => navigate('/ui/kv/' + key, { draft: e.value, from: e.version }),
        }, 'Restore this version'), ' ', h('span', { class: 'muted' }, 'puts this value into the editor of the latest version; Save writes it.')));
      }
      const s = show(e.value);
      if (s.kind === 'json' || s.kind === 'binary' || at !== null || s.shown.includes('\r')) {
        shown.append(h('h2', null, s.kind === 'json' ? 'Value (JSON, formatted)' : s.kind === 'binary' ? 'Value (binary)' : 'Value'));
        if (s.kind === 'binary') {
          shown.append(h('div', { class: 'row' }, h('label', { for: 'binary-mode' }, 'Show binary values as'), modeSel));
        }
        shown.append(h('pre', { tabindex: 0 }, s.shown));
      }
    }
    if (resetEditor && at === null) {
      let t = e === null ? '' : text(e.value);
      // A browser's text field turns CR LF into LF: a value with CR would be
      // changed by a save that did not mean to.
      const hasCR = t !== null && t.includes('\r');
      if (hasCR) t = null;
      editor.readOnly = t === null || noWrite;
      editor.value = t === null ? '' : t;
      help.textContent = hasCR
        ? 'This value has carriage returns, which a browser\'s text field would change: change it with the API or the vkv command.'
        : noWrite
        ? 'Your credentials may read this key but not write it.'
        : t === null
        ? 'This value is binary: it is shown above, and can be changed with the API or the vkv command, not here.'
        : e === null ? 'Save creates the key.' : `Save writes on version ${e.version} only: if the key changed meanwhile, you see both sides and choose.`;
      baseText = editor.value;
      dirty = false;
      changed.hidden = true;
      save.disabled = t === null || noWrite;
      remove.disabled = e === null || noWrite;
    }
  };

  const renderHistory = (versions) => {
    clear(histBody);
    versions.forEach((v, i) => {
      const older = versions[i + 1] || null;
      const showDiff = () => {
        clear(diffOut);
        diffOut.append(
          h('h3', null, older ? `Changes in version ${v.version} (from version ${older.version})` : `Changes in version ${v.version} (the oldest kept)`),
          diffView(older ? older.value : null, v.value, `Changes in version ${v.version}`));
      };
      const preview = v.deleted ? '' : (() => {
        const s = text(v.value);
        return s === null ? `binary, ${v.value.length} bytes` : s.length > 60 ? s.slice(0, 60) + '…' : s;
      })();
      histBody.append(h('tr', null,
        h('td', { class: 'num' }, String(v.version)),
        h('td', null, v.deleted ? 'deleted or expired' : (v.createVersion === v.version ? 'created' : 'written') + (v.expiresAt ? ', with a TTL' : '')),
        h('td', { class: 'key' }, preview),
        h('td', null,
          v.deleted ? null : h('a', { href: `/ui/kv/${key}?version=${v.version}` }, `Read version ${v.version}`), ' ',
          h('button', { type: 'button', class: 'secondary', onclick: showDiff }, `Diff version ${v.version}`))));
    });
    if (versions.length === 0) histBody.append(h('tr', null, h('td', { colspan: 4, class: 'muted' }, 'No history.')));
  };

  const loadHistory = async () => {
    try {
      renderHistory(await history(key));
    } catch (err) {
      if (err instanceof APIError && err.status === 404) renderHistory([]);
      else say(errorBox(err));
    }
  };

  const reload = async () => {
    renderEntry(await get(key, at), true);
    await loadHistory();
  };

  // forbidden disables what the credentials may not do, once a write was
  // refused with 403, and says why.
  const forbidden = (err) => {
    say(errorBox(err));
    save.disabled = true;
    remove.disabled = true;
    save.setAttribute('aria-describedby', 'value-help');
    remove.setAttribute('aria-describedby', 'value-help');
    editor.readOnly = true;
    help.textContent = 'Your credentials may read this key but not write it: Save and Delete are disabled.';
  };

  // The conflict view and its three choices.
  const showConflict = (c) => {
    clear(conflictBox);
    const theirsEntry = c.theirs.value === null ? null : c.theirs;
    conflictBox.append(conflictView(c, {
      keep: async () => {
        clear(conflictBox);
        await reload();
        announce('Kept theirs: your edit was discarded.');
        editor.focus();
      },
      overwrite: async () => {
        try {
          let v;
          if (c.op === 'delete') {
            if (theirsEntry === null) {
              clear(conflictBox);
              await reload();
              return;
            }
            v = await del(key, c.theirs.version);
          } else {
            v = await put(key, c.mine, theirsEntry === null ? 0 : c.theirs.version);
          }
          clear(conflictBox);
          await reload();
          const done = c.op === 'delete' ? `Deleted at version ${v}.` : `Saved yours at version ${v}.`;
          announce(done);
          say(h('p', { class: 'muted' }, done));
        } catch (err) {
          if (isConflict(err)) showConflict({ ...c, base: theirsEntry, theirs: conflictOf(err) });
          else say(errorBox(err));
        }
      },
      merge: () => {
        clear(conflictBox);
        const mine = text(c.mine);
        renderEntry(theirsEntry, false);
        editor.readOnly = false;
        editor.value = theirsEntry === null ? mine : mergeText(mine, text(theirsEntry.value), theirsEntry.version);
        help.textContent = theirsEntry === null
          ? 'Save creates the key again with this value.'
          : `Edit the merge, remove the markers, then Save writes it on their version ${theirsEntry.version}.`;
        baseText = '';
        dirty = true;
        save.disabled = noWrite;
        remove.disabled = theirsEntry === null || noWrite;
        editor.focus();
        announce('Both sides are in Value: edit, then Save.');
      },
    }));
    conflictBox.querySelector('h2').focus();
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    say(null);
    const mine = encode(editor.value);
    const base = entry;
    try {
      const v = await put(key, mine, base === null ? 0 : base.version);
      await reload();
      announce(`Saved at version ${v}.`);
      say(h('p', { class: 'muted' }, `Saved at version ${v}.`));
    } catch (err) {
      if (isConflict(err)) showConflict({ op: 'put', base, mine, theirs: conflictOf(err) });
      else if (err instanceof APIError && err.status === 401) fail(err);
      else if (err instanceof APIError && err.status === 403) forbidden(err);
      else say(errorBox(err));
    } finally {
      busy = false;
    }
  });
  remove.addEventListener('click', async () => {
    if (busy || entry === null) return;
    busy = true;
    say(null);
    const base = entry;
    try {
      const v = await del(key, base.version);
      await reload();
      announce(`Deleted at version ${v}.`);
      say(h('p', { class: 'muted' }, `Deleted at version ${v}.`));
    } catch (err) {
      if (isConflict(err)) showConflict({ op: 'delete', base, mine: null, theirs: conflictOf(err) });
      else if (err instanceof APIError && err.status === 401) fail(err);
      else if (err instanceof APIError && err.status === 403) forbidden(err);
      else say(errorBox(err));
    } finally {
      busy = false;
    }
  });
  editor.addEventListener('input', () => {
    dirty = editor.value !== baseText;
  });
  modeSel.addEventListener('change', () => {
    setBinaryMode(modeSel.value);
    renderEntry(entry, false);
    modeSel.focus();
  });

  const from = await storeVersion().catch(() => undefined);
  const first = await get(key, at);
  renderEntry(first, true);
  await loadHistory();
  if (ctx.handoff && ctx.handoff.draft && at === null && !editor.readOnly) {
    // From an old version's page: its value, to save on the latest version.
    editor.value = text(ctx.handoff.draft);
    dirty = true;
    help.textContent = `The value of version ${ctx.handoff.from}, restored: Save writes it ` +
      (entry === null ? '(creating the key again).' : `on version ${entry.version} only.`);
  }
  if (ctx.handoff && ctx.handoff.conflict) {
    // From the new-key page: the key existed; the draft is shown with the conflict.
    const c = ctx.handoff.conflict;
    const t = text(c.mine);
    if (t !== null) {
      editor.value = t;
      dirty = true;
    }
    showConflict(c);
  }

  // Live: a change of this key made elsewhere shows at once; while you
  // edit, a note says so before you save.
  watch(name, from, (ch) => {
    if (!ch.resync && keyOf(ch) !== key) return;
    if (!ch.resync && entry !== null && ch.version <= entry.version) return;
    if (at !== null || (!dirty && !conflictBox.firstChild)) {
      (at !== null ? loadHistory() : reload()).then(() => announce(`The key changed: version ${ch.version}.`)).catch(() => {});
      return;
    }
    changed.hidden = false;
    changed.textContent = ch.resync
      ? 'This key may have changed while you were editing (the change feed lost its place). Saving will show you both sides if it did.'
      : ch.deleted
      ? `This key was deleted (version ${ch.version}) while you were editing. Saving now will show you both sides.`
      : `This key changed (version ${ch.version}) while you were editing. Saving now will show you both sides.`;
    loadHistory().catch(() => {});
  }, ctx.live, signal);
}
