/**
 * JSON that must reach the wire as the text it was received in (a call's `metadata`): a RawJson
 * holds that text, and stringifyJson() writes it verbatim where plain JSON.stringify would write the
 * parsed value (losing number precision and rewriting escapes).
 *
 * How: every RawJson in the value is swapped for a placeholder string carrying a random nonce, the
 * value is serialized by whoever serializes it (JSON.stringify, or Fastify's schema serializer), and
 * each quoted placeholder in the output is replaced by the raw text. No client string can forge a
 * placeholder: the nonce is 128 random bits drawn per serialization.
 */
import { randomBytes } from 'node:crypto';

export class RawJson {
  constructor(readonly text: string) {}

  /** Plain JSON.stringify (a path that does not know RawJson) still writes the value, parsed. */
  toJSON(): unknown {
    return JSON.parse(this.text) as unknown;
  }
}

export interface RawPlaceholders {
  /** The value with each RawJson replaced by a placeholder string. */
  value: unknown;
  /** How many RawJson values were found. */
  count: number;
  /** Puts the raw texts back into a serialization of `value`. */
  splice(serialized: string): string;
}

const isPlainObject = (v: object) => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

export function withRawPlaceholders(value: unknown): RawPlaceholders {
  const nonce = randomBytes(16).toString('hex');
  const raws: string[] = [];
  const walk = (v: unknown): unknown => {
    if (v instanceof RawJson) {
      raws.push(v.text);
      return `outcall_raw_${nonce}_${raws.length - 1}`;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object' && isPlainObject(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  const replaced = walk(value);
  const pattern = new RegExp(`"outcall_raw_${nonce}_(\\d+)"`, 'g');
  return {
    value: replaced,
    count: raws.length,
    splice: (serialized) => (raws.length === 0 ? serialized : serialized.replace(pattern, (_m, n: string) => raws[Number(n)] ?? 'null')),
  };
}

/** JSON.stringify, with every RawJson written as its text. */
export function stringifyJson(value: unknown): string {
  const p = withRawPlaceholders(value);
  return p.splice(JSON.stringify(p.value));
}
