/**
 * Every way a secret can reach a person or a file besides as is: trimmed, JSON-escaped, URL-encoded
 * the ways encoders and the release's own requests write it, and quoted the ways bash prints a word
 * (`set -x`, `printf %q`, `${v@Q}`, `declare -p`). Every masker derives its forms from this one list.
 */
export function renderingsOf(secret: string): string[] {
  if (secret === '') return [];
  const out = new Set<string>();
  for (const v of new Set([secret, secret.trim()])) {
    if (v === '') continue;
    for (const f of [...encodings(v), ...shellForms(v)]) if (f) out.add(f);
  }
  return [...out];
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
