// DOM helpers. Everything that comes from the store (keys, values, problem
// details) goes into the page through text nodes, never as HTML: there is no
// innerHTML, outerHTML, insertAdjacentHTML or document.write in the console.

// h creates an element. attrs: "class", "on<event>" listeners, booleans
// (true sets an empty attribute, false or null skips it), other values as
// attributes. children: nodes, or anything else as a text node.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

// append adds children (nested arrays allowed) to el, strings as text.
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// clear empties el.
export function clear(el) {
  el.replaceChildren();
}

// announce tells assistive technology about something that happened (a
// save, a change that arrived live).
export function announce(text) {
  const el = document.getElementById('announce');
  el.textContent = '';
  el.textContent = text;
}
