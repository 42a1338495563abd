/**
 * Finds and reads scenario files: each argument is a directory (its `*.json`, sorted, not recursive)
 * or a file. Every problem in every file is collected, so one run shows all of them.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { validateScenario, type Scenario } from './schema.js';

export type LoadResult = { ok: true; scenarios: Scenario[] } | { ok: false; errors: string[] };

export async function loadScenarios(paths: readonly string[]): Promise<LoadResult> {
  const errors: string[] = [];
  const files: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) errors.push(`${p}: no such file or directory`);
    else if (st.isDirectory()) {
      const found = (await readdir(p)).filter((f) => f.endsWith('.json')).sort();
      if (found.length === 0) errors.push(`${p}: no *.json scenario files in this directory`);
      files.push(...found.map((f) => join(p, f)));
    } else files.push(p);
  }
  const scenarios: Scenario[] = [];
  for (const file of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      errors.push(`${file}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    const v = validateScenario(raw, file);
    if (v.ok) scenarios.push(v.scenario);
    else errors.push(...v.errors);
  }
  const seen = new Map<string, string>();
  for (const s of scenarios) {
    const prev = seen.get(s.name);
    if (prev) errors.push(`${s.file}: name: "${s.name}" is also the name of ${basename(prev)}; names must be unique`);
    seen.set(s.name, s.file);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, scenarios };
}
