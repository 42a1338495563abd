import { monotonicFactory } from 'ulid';

const next = monotonicFactory();

export type IdPrefix = 'org' | 'key' | 'trk' | 'pn' | 'agt' | 'call' | 'tr' | 'whs' | 'evt' | 'dlv' | 'wrk';

/** Time-ordered, unguessable ids with a type prefix, e.g. `call_01JD3X...` (ULID: 48-bit ms + 80 random bits). */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${next()}`;
}
