/**
 * `outcall serve` in embedded mode (PGlite) starts the sandbox next to the call plane, on 127.0.0.1,
 * and seeds the `sandbox` trunk, the demo agent and its number in the default organization, so the very
 * first start can place a real call. OUTCALL_SANDBOX=0 turns it off; OUTCALL_SANDBOX_PORT picks the SIP
 * port (default: any free one; the seeded trunk follows it); OUTCALL_SANDBOX_PERSONAS adds a folder of the
 * user's own personas (a persona with a `line` gets its own number).
 */
import type { AppContext } from '../app-context.js';
import { OutcallError } from '../errors.js';
import { DEFAULT_ORG_ID } from '../store/orgs.js';
import { seedSandbox, type SandboxSeed } from './seed.js';
import type { Sandbox } from './service.js';
import { startSandboxThread } from './sandbox-thread.js';

export interface EmbeddedSandbox {
  readonly sandbox: Sandbox;
  readonly seed: SandboxSeed;
  /** Lines for the start-up banner. */
  readonly banner: string;
  stop(): Promise<void>;
}

export async function startEmbeddedSandbox(ctx: AppContext, o: { embeddedStore: boolean; env?: NodeJS.ProcessEnv }): Promise<EmbeddedSandbox | undefined> {
  const env = o.env ?? process.env;
  if (!o.embeddedStore || env.OUTCALL_SANDBOX === '0') return undefined;
  const portText = env.OUTCALL_SANDBOX_PORT ?? '0';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new OutcallError('config_invalid', `OUTCALL_SANDBOX_PORT must be a UDP port (0-65535), got '${portText}'`);
  let sandbox: Sandbox;
  try {
    // OUTCALL_SANDBOX_PERSONAS: a folder of the user's own persona files, added to (or replacing, by name) the bundled ones.
    const extra = env.OUTCALL_SANDBOX_PERSONAS;
    // On a thread of its own: the personas' audio must not wait on this thread's API and database work.
    sandbox = await startSandboxThread({ host: '127.0.0.1', port, ...(extra ? { personaDirs: [extra] } : {}) });
  } catch (err) {
    // The sandbox is a convenience: a broken persona file or a taken port must not stop the platform.
    const msg = `sandbox not started: ${(err as Error).message}`;
    if (ctx.logger) ctx.logger.warn({ err }, msg);
    else process.emitWarning(msg);
    return undefined;
  }
  try {
    const seed = await seedSandbox(ctx, DEFAULT_ORG_ID, { host: sandbox.host, port: sandbox.port });
    const human = sandbox.numbers[0]?.number ?? '+12025550100';
    const banner = [
      `Sandbox phone network on 127.0.0.1:${sandbox.port} (turn off with OUTCALL_SANDBOX=0). Try a first call:`,
      `  curl -X POST -H "Authorization: Bearer $OUTCALL_API_KEY" -H 'content-type: application/json' \\`,
      `    -d '{"to":"${human}"}' <api>/v1/agents/${seed.agentId}/outbound-calls`,
      `  Numbers: ${sandbox.numbers.map((n) => `${n.number} ${n.name}`).join(', ')}`,
    ].join('\n');
    return { sandbox, seed, banner, stop: () => sandbox.stop() };
  } catch (err) {
    await sandbox.stop();
    throw err;
  }
}
