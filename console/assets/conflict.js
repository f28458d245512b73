// The conflict view: what you started from, yours and theirs, with the
// diffs, and the three ways out. Nothing has been written when it shows.

import { h } from './dom.js';
import { show, text } from './bytes.js';
import { diffView } from './diff.js';

// side renders one side's value, or a note when it has none.
function side(title, value, none) {
  return h('div', null, h('h3', null, title),
    value === null ? h('p', { class: 'muted' }, none) : h('pre', { tabindex: 0 }, show(value).shown));
}

// conflictView returns the view of conflict c:
//   c.op: "put" or "delete"; c.base: the entry you started from or null;
//   c.mine: your value (null for a delete); c.theirs: the current entry
//   from the 409 or 412 answer (value null: the key does not exist now).
// on.keep, on.overwrite and on.merge are the three choices; Merge is offered
// for a put whose both sides are text.
export function conflictView(c, on) {
  const baseV = c.base ? c.base.version : 0;
  const baseValue = c.base ? c.base.value : null;
  const theirsTitle = c.theirs.value === null ? 'Theirs: the key does not exist now' : `Theirs (version ${c.theirs.version})`;
  const what = c.op === 'delete' ? 'delete it' : baseV ? 'save your edit' : 'create it';
  const canMerge = c.op === 'put' && text(c.mine) !== null && (c.theirs.value === null || text(c.theirs.value) !== null);
  const buttons = [
    h('button', { type: 'button', class: 'secondary', onclick: on.keep }, 'Keep theirs'),
    h('button', { type: 'button', class: 'danger', onclick: on.overwrite }, 'Overwrite with mine'),
  ];
  if (canMerge) buttons.push(h('button', { type: 'button', onclick: on.merge }, 'Merge'));
  return h('section', { class: 'conflict', 'aria-labelledby': 'conflict-title', id: 'conflict' },
    h('h2', { id: 'conflict-title', tabindex: -1 }, 'Conflict: the key changed since you loaded it'),
    h('p', { role: 'alert' },
      `You tried to ${what} at version ${baseV || 'none (create only)'}, but `,
      c.theirs.value === null ? 'the key was deleted meanwhile. ' : `someone else wrote version ${c.theirs.version} meanwhile. `,
      'Nothing was written. Compare and choose:'),
    h('ul', null,
      h('li', null, h('strong', null, 'Keep theirs'), ': discard your edit and show the current value.'),
      h('li', null, h('strong', null, 'Overwrite with mine'), `: write yours on their version${c.theirs.value === null ? '' : ' ' + c.theirs.version}; if it changed again you come back here.`),
      canMerge ? h('li', null, h('strong', null, 'Merge'), ': put both into Value with conflict markers, edit it, then Save writes it on their version.') : null),
    h('div', { class: 'sides' },
      side(baseV ? `Where you started (version ${baseV})` : 'Where you started: no key', baseValue, 'No value: the key did not exist.'),
      side(c.op === 'delete' ? 'Yours: delete' : 'Yours', c.mine, 'You asked to delete the key.'),
      side(theirsTitle, c.theirs.value, 'Deleted, or expired.')),
    h('div', { class: 'diffs' },
      h('div', null, h('h3', null, 'Your changes'), diffView(baseValue, c.mine, 'Your changes')),
      h('div', null, h('h3', null, 'Their changes'), diffView(baseValue, c.theirs.value, 'Their changes'))),
    h('div', { class: 'row' }, buttons));
}
