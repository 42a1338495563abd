// Locates sox for codec bit-exactness tests. Missing sox fails under CI, skips elsewhere.
import { spawnSync } from 'node:child_process';

export function soxAvailable(): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync('sox', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const reason = 'sox not installed (apt-get install sox)';
    if (process.env.CI === 'true') throw new Error(`${reason}: required in CI`);
    return { ok: false, reason };
  }
  return { ok: true };
}

/** Runs sox on raw buffers (through temp files is unnecessary: stdin/stdout with `-`). */
export function sox(input: Uint8Array, inArgs: string[], outArgs: string[]): Buffer {
  // -D: no dither, otherwise sox adds noise when reducing bit depth and nothing is bit-exact.
  const r = spawnSync('sox', ['-D', ...inArgs, '-', ...outArgs, '-'], { input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`sox failed: ${r.stderr?.toString() ?? r.error?.message}`);
  return r.stdout;
}
