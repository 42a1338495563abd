/**
 * The import graph of src/ and the layers it must follow (docs/architecture.md shows them as a
 * picture). A layer is a folder under src/ (or a file at its root); LAYERS says which other layers
 * each may import. Nothing is transitive: a layer names every layer it uses.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const BASE = ['errors.ts', 'ids.ts', 'time', 'text', 'threads.ts'];

/**
 * From the bottom floor up. `contract` is the HTTP contract every layer may speak (schemas, statuses,
 * templates, call defaults); `store` is rows, drivers, SQL and migrations; `worker/media` runs on the
 * media thread and `worker/control` beside the database, with `worker/protocol` between them.
 */
export const LAYERS: Record<string, readonly string[]> = {
  'errors.ts': [],
  'ids.ts': [],
  time: [],
  /** Plain text algorithms (edit distance): no imports of ours. */
  text: [],
  /** Starting our worker threads (compiled, or from source through tsx). */
  'threads.ts': [],
  'config.ts': ['errors.ts'],
  crypto: [],
  'http-client': [...BASE],
  contract: [...BASE],
  media: [...BASE],
  telephony: [...BASE, 'media'],
  providers: [...BASE, 'contract', 'media'],
  /** Answering-machine detection: pure analysis of the callee's frames and words (issue 17). */
  amd: [...BASE, 'contract', 'media'],
  voice: [...BASE, 'contract', 'media', 'telephony', 'providers', 'amd'],
  store: [...BASE, 'contract', 'crypto', 'media'],
  'metrics.ts': [...BASE, 'store'],
  'app-context.ts': [...BASE, 'store', 'crypto', 'metrics.ts'],
  webhooks: [...BASE, 'contract', 'store', 'http-client', 'app-context.ts'],
  calls: [...BASE, 'contract', 'store', 'webhooks', 'http-client', 'providers', 'voice', 'app-context.ts'],
  orgs: [...BASE, 'contract', 'store', 'crypto', 'app-context.ts'],
  agents: [...BASE, 'contract', 'store', 'webhooks', 'http-client', 'providers', 'voice', 'calls', 'crypto', 'app-context.ts'],
  dispatch: [...BASE, 'contract', 'store', 'calls', 'app-context.ts'],
  analysis: [...BASE, 'contract', 'store', 'webhooks', 'providers', 'voice', 'calls', 'agents', 'app-context.ts'],
  'worker/protocol.ts': [...BASE, 'contract', 'media', 'providers', 'voice', 'amd'],
  'worker/media': [...BASE, 'config.ts', 'contract', 'http-client', 'media', 'telephony', 'providers', 'voice', 'amd', 'worker/protocol.ts'],
  /**
   * The server's side of SIP digest: pure functions over header text (no sockets). The control side
   * checks inbound callers' answers with it, since only it holds the trunks' passwords.
   */
  'telephony/sip/digest-server.ts': [...BASE, 'telephony'],
  'worker/control': [
    ...BASE, 'config.ts', 'contract', 'media', 'providers', 'voice', 'amd', 'store', 'webhooks', 'http-client', 'calls', 'agents', 'dispatch', 'analysis',
    'app-context.ts', 'worker/protocol.ts', 'telephony/sip/digest-server.ts',
  ],
  dashboard: [...BASE],
  api: [...BASE, 'contract', 'store', 'http-client', 'webhooks', 'calls', 'orgs', 'agents', 'dispatch', 'dashboard', 'app-context.ts', 'metrics.ts'],
  sandbox: [...BASE, 'contract', 'media', 'telephony', 'providers', 'voice', 'store', 'agents', 'app-context.ts'],
  'bootstrap.ts': [...BASE, 'config.ts', 'crypto', 'store', 'metrics.ts', 'app-context.ts'],
  sdk: [...BASE, 'http-client'],
  cli: [
    ...BASE, 'config.ts', 'contract', 'store', 'http-client', 'webhooks', 'calls', 'orgs', 'agents', 'dispatch', 'analysis', 'worker/control', 'api',
    'dashboard', 'sandbox', 'sdk', 'bootstrap.ts', 'app-context.ts', 'metrics.ts', 'crypto',
  ],
  'index.ts': ['sdk'],
};

/** The media thread never touches these (its events reach the store through worker/control). */
export const MEDIA_SIDE_FORBIDDEN = ['store', 'dispatch', 'calls', 'agents', 'webhooks', 'analysis', 'app-context.ts'];

export interface Edge {
  from: string;
  to: string;
  /** `import type` or every named binding marked `type`: erased at run time. */
  typeOnly: boolean;
}

export interface Graph {
  files: string[];
  edges: Edge[];
}

/** The layer of a file (a path such as src/voice/session.ts): the longest LAYERS key it lies under. */
export function layerOf(file: string): string | undefined {
  const rel = file.replace(/^src\//, '');
  let best: string | undefined;
  for (const key of Object.keys(LAYERS)) {
    const hit = key.endsWith('.ts') ? rel === key : rel.startsWith(`${key}/`);
    if (hit && (best === undefined || key.length > best.length)) best = key;
  }
  return best;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

// import x from '...'; import type {...} from '...'; export {...} from '...'; import '...'; import('...')
const STATIC = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+'([^']+)'/g;
const BARE = /(?:^|\n)\s*import\s+'([^']+)'/g;
const DYNAMIC = /import\(\s*'([^']+)'\s*\)/g;

function allTypeBindings(clause: string): boolean {
  const braces = clause.match(/^\{([\s\S]*)\}$/);
  if (!braces) return false;
  const names = (braces[1] as string).split(',').map((s) => s.trim()).filter(Boolean);
  return names.length > 0 && names.every((n) => n.startsWith('type '));
}

export function importGraph(root: string): Graph {
  const files = walk(root);
  const known = new Set(files);
  const edges: Edge[] = [];
  const target = (from: string, spec: string): string | undefined => {
    if (!spec.startsWith('.')) return undefined;
    const abs = relative('.', resolve(dirname(from), spec));
    for (const c of [abs.replace(/\.js$/, '.ts'), `${abs}.ts`, join(abs, 'index.ts')]) if (known.has(c)) return c;
    throw new Error(`${from}: cannot resolve ${spec}`);
  };
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(STATIC)) {
      const to = target(f, m[4] as string);
      if (to) edges.push({ from: f, to, typeOnly: m[2] !== undefined || allTypeBindings((m[3] as string).trim()) });
    }
    for (const m of text.matchAll(BARE)) {
      const to = target(f, m[1] as string);
      if (to) edges.push({ from: f, to, typeOnly: false });
    }
    for (const m of text.matchAll(DYNAMIC)) {
      const to = target(f, m[1] as string);
      if (to) edges.push({ from: f, to, typeOnly: false });
    }
  }
  return { files, edges };
}

/** Each strongly connected group of two or more files (or a file importing itself), sorted. */
export function findCycles(graph: Graph): string[][] {
  const next = new Map<string, string[]>();
  for (const e of graph.edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  // Tarjan's algorithm, iterative-free: src/ is a few hundred files deep at most.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        on.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (next.get(v) ?? []).includes(v)) out.push(group.sort());
    }
  };
  for (const f of graph.files) if (!idx.has(f)) visit(f);
  return out.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}
