/**
 * A small JSON scanner that finds the members of a top-level object as the text they were written
 * in, without parsing their values: `{"a": 1.0, "b": {"c": 1e2}}` gives `a` -> `1.0` and
 * `b` -> `{"c": 1e2}`, byte for byte. JSON.parse cannot do this (numbers go through a double, so
 * 18446744073709551617 becomes 18446744073709552000; `\u00e9` and `\/` are decoded), and the API
 * promises to echo the client's `metadata` as sent.
 *
 * Grammar: RFC 8259. Names are compared decoded (`"metad\u0061ta"` is `metadata`), because that is
 * what a parser sees; RFC 8259 §4 leaves duplicate names to the implementation, so callers that must
 * pick one member refuse them instead of guessing.
 */

export class JsonScanError extends Error {
  constructor(
    message: string,
    /** The duplicated member name, for a duplicate. */
    readonly duplicate?: string,
  ) {
    super(message);
    this.name = 'JsonScanError';
  }
}

export interface JsonMember {
  /** The name, decoded. */
  name: string;
  /** The value's text exactly as written (no surrounding whitespace). */
  raw: string;
}

// RFC 8259 §2: insignificant whitespace is space, tab, line feed and carriage return only.
const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** The index just past the string that starts at i (s[i] is the opening quote). */
function endOfString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j++; // backslash: the next character is escaped, whatever it is (\" too)
    else if (c === 0x22) return j + 1;
    else if (c < 0x20) throw new JsonScanError(`control character in a string at ${j}`);
  }
  throw new JsonScanError('unterminated string');
}

// Sticky: matched in place at lastIndex, however long the number.
const SCALAR = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/**
 * The index just past the value that starts at i. Objects and arrays are walked with an explicit
 * stack of closers (no recursion, so deep nesting cannot overflow), skipping strings, whose
 * brackets and escaped quotes are not structure. Inside a container only the balance is checked:
 * callers scan text that JSON.parse has accepted (or that we wrote), and parse what they extract.
 */
function endOfValue(s: string, i: number): number {
  const first = s[i];
  if (first === '"') return endOfString(s, i);
  if (first !== '{' && first !== '[') {
    SCALAR.lastIndex = i;
    const m = SCALAR.exec(s);
    if (!m) throw new JsonScanError(`unexpected ${first === undefined ? 'end of text' : `"${first}"`} at ${i}`);
    return i + m[0].length;
  }
  const closers: string[] = [];
  for (let j = i; j < s.length; j++) {
    const c = s[j];
    if (c === '"') j = endOfString(s, j) - 1;
    else if (c === '{') closers.push('}');
    else if (c === '[') closers.push(']');
    else if (c === '}' || c === ']') {
      if (closers.pop() !== c) throw new JsonScanError(`unbalanced "${c}" at ${j}`);
      if (closers.length === 0) return j + 1;
    }
  }
  throw new JsonScanError('unterminated object or array');
}

/** The members of the object that is the whole of `text`, in order (duplicates included). */
export function topLevelMembers(text: string): JsonMember[] {
  let i = skipWs(text, 0);
  if (text[i] !== '{') throw new JsonScanError('the JSON text is not an object');
  const members: JsonMember[] = [];
  i = skipWs(text, i + 1);
  if (text[i] === '}') {
    if (skipWs(text, i + 1) !== text.length) throw new JsonScanError(`text after the object at ${i + 1}`);
    return members;
  }
  for (;;) {
    if (text[i] !== '"') throw new JsonScanError(`expected a member name at ${i}`);
    const nameEnd = endOfString(text, i);
    const name = JSON.parse(text.slice(i, nameEnd)) as string;
    i = skipWs(text, nameEnd);
    if (text[i] !== ':') throw new JsonScanError(`expected ":" at ${i}`);
    i = skipWs(text, i + 1);
    const valueEnd = endOfValue(text, i);
    members.push({ name, raw: text.slice(i, valueEnd) });
    i = skipWs(text, valueEnd);
    if (text[i] === ',') {
      i = skipWs(text, i + 1);
      continue;
    }
    if (text[i] !== '}') throw new JsonScanError(`expected "," or "}" at ${i}`);
    if (skipWs(text, i + 1) !== text.length) throw new JsonScanError(`text after the object at ${i + 1}`);
    return members;
  }
}

/** The members by name; a name given twice is refused (JsonScanError with `duplicate`). */
export function uniqueMembers(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of topLevelMembers(text)) {
    if (out.has(m.name)) throw new JsonScanError(`"${m.name}" is given twice`, m.name);
    out.set(m.name, m.raw);
  }
  return out;
}
