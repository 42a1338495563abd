/**
 * Seeds what a newcomer needs to place a first call into the sandbox: a trunk named `sandbox` pointing
 * at the sandbox's SIP port, a demo agent with a short scripted flow, and a phone number (the caller id,
 * in the same fictional 555-01xx range) whose outbound agent is the demo agent. Idempotent: found by
 * name/number and reused; only the trunk's host/port are updated when the sandbox moved.
 */
import type { AppContext } from '../app-context.js';
import type { Flow } from '../voice/flow/types.js';
import { createAgent, toAgent } from '../agents/agents.js';
import { createPhoneNumber, toPhoneNumber, type PhoneNumberRow } from '../agents/phone-numbers.js';
import { createTrunk, toTrunk, updateTrunk, type TrunkRow } from '../agents/trunks.js';
import { sql } from '../store/sql.js';
import { SANDBOX_CALLER_ID } from './numbers.js';
import { DEFAULT_PROVIDERS } from '../providers/registry.js';
import type { AgentRow } from '../store/agent-rows.js';

export const SANDBOX_TRUNK_NAME = 'sandbox';
export const SANDBOX_AGENT_NAME = 'sandbox-demo';

/** Greets, asks a yes/no question, branches on the answer and ends. */
export const DEMO_FLOW: Flow = {
  start: 'greet',
  nodes: {
    greet: { type: 'say', text: 'Hello, this is the Outcall demo calling. Do you have a minute for a quick question?', next: 'ask' },
    ask: { type: 'listen', timeout_ms: 10000, next: 'decide', on_timeout: 'bye', reprompt: 'Sorry, do you have a minute?', max_reprompts: 1 },
    decide: {
      type: 'branch',
      cases: [
        { keywords: ['yes', 'yeah', 'sure', 'okay'], next: 'great' },
        { keywords: ['no', 'busy'], next: 'later' },
      ],
      default: 'unclear',
    },
    great: { type: 'say', text: 'Great! This call went over real SIP and RTP, with no carrier account. Goodbye!', next: 'bye' },
    later: { type: 'say', text: 'No problem, I will not keep you. Goodbye!', next: 'bye' },
    unclear: { type: 'say', text: 'Sorry, I did not catch that. Goodbye!', next: 'bye' },
    bye: { type: 'end' },
  },
};

/** The TTS provider the demo agent speaks with: it names none, so the default one (from npm once flite-wasm is the default). */
export function demoTtsProvider(): string {
  return DEFAULT_PROVIDERS.tts;
}

/** What the demo agent can say: the sandbox personas' recognizer listens for these lines. */
export function demoAgentLines(): string[] {
  return Object.values(DEMO_FLOW.nodes).flatMap((n) => (n.type === 'say' ? [n.text] : n.type === 'listen' && n.reprompt ? [n.reprompt] : []));
}

export interface SandboxSeed {
  readonly trunkId: string;
  readonly agentId: string;
  readonly phoneNumberId: string;
  readonly fromNumber: string;
  /** What this run created (empty when everything existed already). */
  readonly created: ReadonlyArray<'trunk' | 'agent' | 'phone_number'>;
}

export async function seedSandbox(ctx: AppContext, orgId: string, target: { host: string; port: number }): Promise<SandboxSeed> {
  const created: Array<'trunk' | 'agent' | 'phone_number'> = [];
  const trunkRow = (await ctx.db.query<TrunkRow>(sql`select * from trunks where org_id = ${orgId} and name = ${SANDBOX_TRUNK_NAME} and deleted_at is null order by created_at limit 1`)).rows[0];
  let trunk = trunkRow ? toTrunk(trunkRow) : undefined;
  if (!trunk) {
    trunk = await createTrunk(ctx, orgId, { name: SANDBOX_TRUNK_NAME, host: target.host, port: target.port, transport: 'udp', default_caller_id: SANDBOX_CALLER_ID });
    created.push('trunk');
  } else if (trunk.host !== target.host || trunk.port !== target.port || trunk.transport !== 'udp') {
    trunk = await updateTrunk(ctx, orgId, trunk.id, { host: target.host, port: target.port, transport: 'udp' });
  }
  const agentRow = (await ctx.db.query<AgentRow>(sql`select * from agents where org_id = ${orgId} and name = ${SANDBOX_AGENT_NAME} and deleted_at is null order by created_at limit 1`)).rows[0];
  let agent = agentRow ? toAgent(agentRow) : undefined;
  if (!agent) {
    agent = await createAgent(ctx, orgId, { name: SANDBOX_AGENT_NAME, flow: DEMO_FLOW, max_cps: 5 });
    created.push('agent');
  }
  const pnRow = (await ctx.db.query<PhoneNumberRow>(sql`select * from phone_numbers where org_id = ${orgId} and number = ${SANDBOX_CALLER_ID} and deleted_at is null limit 1`)).rows[0];
  let pn = pnRow ? toPhoneNumber(pnRow) : undefined;
  if (!pn) {
    pn = await createPhoneNumber(ctx, orgId, { number: SANDBOX_CALLER_ID, trunk_id: trunk.id, outbound_agent_id: agent.id });
    created.push('phone_number');
  }
  return { trunkId: trunk.id, agentId: agent.id, phoneNumberId: pn.id, fromNumber: pn.number, created };
}
