/** Shortest part of a secret's base64, hex or a line of it that is masked on its own: a shorter one is not specific to the secret. */
export const MIN_PART_LENGTH = 8;

/**
 * Every way a secret can reach a person or a file besides as is: trimmed, JSON-escaped, URL-encoded
 * the ways encoders and the release's own requests write it, quoted the ways bash prints a word
 * (`set -x`, `printf %q`, `${v@Q}`, `declare -p`), and as bytes (base64, base64url, hex: binaryForms).
 * A multi-line secret (a key) is also each of its lines and its lines joined by CRLF or by spaces
 * (variantsOf). Every masker derives its forms from this one list.
 */
export function renderingsOf(secret: string): string[] {
  if (secret === '') return [];
  const out = new Set<string>();
  for (const v of variantsOf(secret)) {
    for (const f of [...encodings(v), ...shellForms(v), ...binaryForms(v)]) if (f) out.add(f);
  }
  return [...out];
}

/**
 * The values a secret reaches output as: itself, trimmed, and, when it has several lines, its lines
 * joined by CRLF (a file written on Windows, a `sed 's/$/\r/'`) and by spaces (an unquoted `echo $KEY`),
 * and each of its lines long enough to be specific on its own (one line printed alone).
 */
function variantsOf(secret: string): Set<string> {
  const out = new Set([secret, secret.trim()]);
  const lines = secret.trim().split(/\r?\n/);
  if (lines.length > 1) {
    out.add(lines.join('\r\n'));
    out.add(lines.map((l) => l.trim()).join(' '));
    for (const l of lines) if (l.trim().length >= MIN_PART_LENGTH) out.add(l.trim());
  }
  out.delete('');
  return out;
}

/**
 * The secret's bytes as encoders print them: hex (lower and upper case: `xxd -p`, `printf %x`), and
 * base64 and base64url at each of the three byte alignments the secret can have inside a longer text
 * (`user:SECRET` in an HTTP Basic header): only the characters that encode the secret's bits alone,
 * which are the same whatever surrounds it, and only when they are long enough to be specific.
 */
function binaryForms(v: string): string[] {
  const bytes = Buffer.from(v, 'utf8');
  const hex = bytes.toString('hex');
  const out = [hex, hex.toUpperCase()];
  for (const offset of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Character i holds bits [6i, 6i+6); the secret's are [8·offset, 8·(offset+n)).
    const part = b64.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    if (part.length >= MIN_PART_LENGTH) out.push(part, part.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out.filter((f) => f.length >= MIN_PART_LENGTH);
}

/**
 * What bash prints for a word holding the value, inside its quotes (a secret may be only part of
 * the word): `'…'` with each quote as `'\''` (`set -x`, `${v@Q}`); backslashes before the special
 * characters (`printf %q`; `#` and `~` only at the start of a word); `"…"` (`declare -p`); and
 * `$'…'` (any of them once the value holds a control character), with bash's octal escapes, with
 * `\xHH` and `\e` as people and other shells write them, and with every byte past ASCII in octal
 * as bash writes it outside a UTF-8 locale.
 */
function shellForms(v: string): string[] {
  const backslashed = v.replace(/[ !"$&'()*,;<>?[\\\]^`{|}]/g, '\\$&');
  return [
    v.replace(/'/g, "'\\''"),
    backslashed,
    /^[#~]/.test(v) ? `\\${backslashed}` : backslashed,
    v.replace(/["\\$`]/g, '\\$&'),
    ansiC(v, (b) => `\\${b.toString(8).padStart(3, '0')}`, '\\E', false),
    ansiC(v, (b) => `\\x${b.toString(16).padStart(2, '0')}`, '\\e', false),
    ansiC(v, (b) => `\\${b.toString(8).padStart(3, '0')}`, '\\E', true),
  ];
}

const NAMED_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
  "'": "\\'",
};

/** The inside of bash's `$'…'` for `v`: named escapes, other control characters (and, `bytes`, every non-ASCII byte) as `code(byte)`. */
function ansiC(v: string, code: (byte: number) => string, esc: string, bytes: boolean): string {
  let out = '';
  for (const ch of v) {
    const cp = ch.codePointAt(0)!;
    if (NAMED_ESCAPES[ch]) out += NAMED_ESCAPES[ch];
    else if (ch === '\x1b') out += esc;
    else if (cp < 0x20 || cp === 0x7f) out += code(cp);
    else if (cp > 0x7f && bytes) for (const b of Buffer.from(ch, 'utf8')) out += code(b);
    else out += ch;
  }
  return out;
}

/** The ways a step may print a secret besides as is: trimmed, JSON-escaped (JavaScript and ASCII-only), URL-encoded (urlForms). */
function encodings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const out = [value, value.trim(), json, json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)];
  try {
    out.push(...urlForms(value));
  } catch {
    // A lone surrogate has no URL encoding; such a value is refused before a release starts.
  }
  return out;
}

/**
 * The URL encodings encoders actually write: JavaScript's encodeURIComponent (which leaves !'()* as
 * they are), RFC 3986 (curl --data-urlencode, Python's quote: those five encoded too), each with `/`
 * left as is (Python's default), a space as `+` (forms), and lower-case hex; and every form the
 * release itself sends (whatwgForms), derived from the same encoders its requests go through.
 */
function urlForms(value: string): string[] {
  const js = encodeURIComponent(value);
  const rfc = js.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const withSlash = [js, rfc].flatMap((u) => [u, u.replace(/%2F/g, '/')]);
  const withPlus = withSlash.flatMap((u) => [u, u.replace(/%20/g, '+')]);
  const all = [...withPlus, ...whatwgForms(value)];
  return [...new Set(all.flatMap((u) => [u, u.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()), u.replace(/%[0-9a-f]{2}/gi, (h) => h.toUpperCase())]))];
}

/**
 * What a request of the release carries when a secret is part of its URL: `new URL()` encodes a
 * path, a query, a fragment and the user info each with its own set (`p@ss word!` becomes
 * `p@ss%20word!` in a path), whether the value is written in the URL or set through a setter;
 * `URLSearchParams` writes a form (space as `+`); encodeURI leaves the reserved characters.
 */
function whatwgForms(value: string): string[] {
  const out: string[] = [];
  const tryPush = (f: () => string) => {
    try {
      out.push(f());
    } catch {
      // A form the encoder refuses is one no request carries.
    }
  };
  for (const base of ['http://h/', 'http://h/?', 'http://h/#', 'file:///', 'x:/', 'x:']) {
    tryPush(() => new URL(base + value).href.slice(base.length));
  }
  const u = () => new URL('http://h/');
  tryPush(() => Object.assign(u(), { pathname: `/${value}` }).pathname.slice(1));
  tryPush(() => Object.assign(u(), { search: `?${value}` }).search.slice(1));
  tryPush(() => Object.assign(u(), { hash: `#${value}` }).hash.slice(1));
  tryPush(() => Object.assign(u(), { username: value }).username);
  tryPush(() => Object.assign(u(), { password: value }).password);
  tryPush(() => new URLSearchParams({ k: value }).toString().slice(2));
  tryPush(() => encodeURI(value));
  return out;
}
