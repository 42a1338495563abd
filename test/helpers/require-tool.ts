import { spawnSync } from 'node:child_process';

/**
 * Whether a program the test needs is installed. In CI (CI=true) a missing tool fails the test
 * run instead of skipping it, so a missing install step can never pass silently.
 */
export function toolAvailable(binary: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
  if (!found && process.env.CI === 'true') {
    throw new Error(`${binary} is not installed; CI must install it (scripts/setup-test-env.sh)`);
  }
  return found;
}

export function skipReason(binary: string): string | false {
  return toolAvailable(binary) ? false : `${binary} is not installed (run scripts/setup-test-env.sh)`;
}
