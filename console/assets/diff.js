// Line diffs of values, with jsdiff (vendor/jsdiff, loaded by index.html
// as a classic script that defines the global Diff).

import { h } from './dom.js';
import { text } from './bytes.js';

// lines splits a diff part's text into lines, without the final newline.
function lines(s) {
  const l = s.split('\n');
  if (l.length > 1 && l[l.length - 1] === '') l.pop();
  return l;
}

// diffView returns a <pre> with the line diff from old to new (byte arrays,
// null for "no value"), or a note when either side is binary.
export function diffView(oldB, newB, label) {
  const a = oldB === null ? '' : text(oldB);
  const b = newB === null ? '' : text(newB);
  if (a === null || b === null) {
    const size = (x) => (x === null ? 'no value' : `${x.length} bytes`);
    return h('p', { class: 'notice' }, `Binary value: ${size(oldB)} before, ${size(newB)} after; a line diff is shown for text only.`);
  }
  const pre = h('pre', { class: 'diff', tabindex: 0, 'data-label': label });
  const parts = globalThis.Diff.diffLines(a, b);
  let changed = false;
  for (const p of parts) {
    for (const l of lines(p.value)) {
      if (p.added) {
        changed = true;
        pre.append(h('ins', null, '+ ' + l));
      } else if (p.removed) {
        changed = true;
        pre.append(h('del', null, '- ' + l));
      } else {
        pre.append(h('span', null, '  ' + l));
      }
    }
  }
  if (!changed) pre.append(h('span', null, '(no change)'));
  return pre;
}

// mergeText returns a text holding both sides for a person to edit: the
// lines both have once, and each place where they differ as a block
//
//	<<<<<<< mine
//	...
//	=======
//	...
//	>>>>>>> theirs (version N)
//
// in the style of git's conflict markers.
export function mergeText(mine, theirs, theirsVersion) {
  const parts = globalThis.Diff.diffLines(theirs, mine);
  const out = [];
  let ours = [];
  let their = [];
  const flush = () => {
    if (ours.length === 0 && their.length === 0) return;
    out.push('<<<<<<< mine', ...ours, '=======', ...their, `>>>>>>> theirs (version ${theirsVersion})`);
    ours = [];
    their = [];
  };
  for (const p of parts) {
    if (p.added) ours.push(...lines(p.value));
    else if (p.removed) their.push(...lines(p.value));
    else {
      flush();
      out.push(...lines(p.value));
    }
  }
  flush();
  return out.join('\n') + (mine.endsWith('\n') || theirs.endsWith('\n') ? '\n' : '');
}
