/**
 * A tagged template for SQL so that parameters are never numbered by hand:
 *   sql`select * from calls where org_id = ${orgId} and id = ${id}`
 * Fragments compose (`sql`... ${sql`and status = ${s}`}``) and `raw()` inserts trusted text
 * (identifiers chosen by code, never by input). Rendering numbers the placeholders $1..$n.
 */
export interface SqlQuery {
  readonly text: string;
  readonly values: unknown[];
}

const RAW = Symbol('raw');

export class SqlFragment {
  constructor(
    readonly strings: readonly string[],
    readonly params: readonly unknown[],
  ) {}

  /** Renders to text with $n placeholders and the flat list of values. */
  render(): SqlQuery {
    const values: unknown[] = [];
    const text = this.#renderInto(values);
    return { text, values };
  }

  #renderInto(values: unknown[]): string {
    let text = this.strings[0] ?? '';
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      if (p instanceof SqlFragment) text += p.#renderInto(values);
      else if (isRaw(p)) text += p.text;
      else {
        values.push(p);
        text += `$${values.length}`;
      }
      text += this.strings[i + 1] ?? '';
    }
    return text;
  }
}

interface RawSql {
  readonly [RAW]: true;
  readonly text: string;
}

function isRaw(v: unknown): v is RawSql {
  return typeof v === 'object' && v !== null && (v as Partial<RawSql>)[RAW] === true;
}

export function sql(strings: TemplateStringsArray, ...params: unknown[]): SqlFragment {
  return new SqlFragment(strings, params);
}

/** Trusted SQL text (a column name picked by code from a fixed list). Never pass user input. */
export function raw(text: string): RawSql {
  return { [RAW]: true, text };
}

/** Joins fragments with a separator, e.g. the SET list of an UPDATE. */
export function join(parts: readonly SqlFragment[], separator: string): SqlFragment {
  if (parts.length === 0) return sql``;
  // A fragment has one more string than params: ['', sep, sep, ..., ''].
  const strings = ['', ...parts.slice(1).map(() => separator), ''];
  return new SqlFragment(strings, parts);
}
