// Bytes: values and keys travel as bytes; these turn them into text to show.

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');
const encoder = new TextEncoder();

// fromBase64 decodes a base64 string (the API's JSON form of bytes).
export function fromBase64(s) {
  if (s === null || s === undefined) return null;
  const bin = atob(s);
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  return b;
}

// toBase64 encodes bytes as base64.
export function toBase64(b) {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

// toHex shows bytes as hex, 16 bytes a line.
export function toHex(b) {
  const lines = [];
  for (let i = 0; i < b.length; i += 16) {
    lines.push(Array.from(b.subarray(i, i + 16), (x) => x.toString(16).padStart(2, '0')).join(' '));
  }
  return lines.join('\n');
}

// encode returns the UTF-8 bytes of s.
export function encode(s) {
  return encoder.encode(s);
}

// text returns b as a string if it is UTF-8 without control characters
// other than tab, newline and carriage return; else null (binary).
export function text(b) {
  if (b === null) return null;
  let s;
  try {
    s = utf8.decode(b);
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s) ? null : s;
}

// lossyText decodes b as UTF-8, replacing what is not (for key names).
export function lossyText(b) {
  return lossy.decode(b);
}

// prettyJSON returns s pretty-printed if it is a JSON object or array, else null.
export function prettyJSON(s) {
  const t = s.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return null;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return null;
  }
}

// binaryMode is how binary values are shown: "hex" or "base64", the
// person's choice for this browser tab.
export function binaryMode() {
  return sessionStorage.getItem('vkv.binary') === 'base64' ? 'base64' : 'hex';
}

// setBinaryMode records the choice.
export function setBinaryMode(m) {
  sessionStorage.setItem('vkv.binary', m === 'base64' ? 'base64' : 'hex');
}

// show returns how to show a value: {kind: "text" | "json" | "binary", shown}.
export function show(b) {
  const s = text(b);
  if (s === null) return { kind: 'binary', shown: binaryMode() === 'base64' ? toBase64(b) : toHex(b) };
  const j = prettyJSON(s);
  if (j !== null) return { kind: 'json', shown: j };
  return { kind: 'text', shown: s };
}

// Keys. The console names a key by its escaped form, as in the API's paths
// (wire.EscapeKey): every byte that is not an unreserved character is
// percent-encoded, '/' and '.' included. That form holds any bytes, also
// keys that are not UTF-8, and two escapings of one key compare equal once
// normalized by canonical.

const unreserved = /[A-Za-z0-9\-_~]/;

// escapeBytes returns the escaped form of the key with bytes b.
export function escapeBytes(b) {
  let out = '';
  for (const x of b) {
    const c = String.fromCharCode(x);
    out += x < 0x80 && unreserved.test(c) ? c : '%' + x.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

// escapeKey returns the escaped form of a key given as a string.
export function escapeKey(s) {
  return escapeBytes(encoder.encode(s));
}

// unescapeBytes decodes percent-escapes (any bytes, not only UTF-8).
export function unescapeBytes(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const ch = String.fromCodePoint(s.codePointAt(i));
      out.push(...encoder.encode(ch));
      i += ch.length - 1;
    }
  }
  return new Uint8Array(out);
}

// canonical normalizes an escaped key.
export function canonical(s) {
  return escapeBytes(unescapeBytes(s));
}

// keyName returns the key of an escaped form, as text to show.
export function keyName(esc) {
  return lossyText(unescapeBytes(esc));
}

// keyOf returns the escaped form of the key of an API item (its "key" and,
// for a key that is not UTF-8, "keyBase64" members).
export function keyOf(item) {
  return item.keyBase64 ? escapeBytes(fromBase64(item.keyBase64)) : escapeKey(item.key);
}
