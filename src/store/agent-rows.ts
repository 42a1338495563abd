import type { ConversationSettings, ProviderChoice, ProviderSettings, Tool } from '../contract/agent.js';
import type { MachineDetection, Voicemail } from '../contract/machine-detection.js';
import type { Queryable } from './db.js';
import { sql } from './sql.js';

/** An agent as stored: what the API shows (toAgent in src/agents), plus its encrypted provider keys. */
export interface AgentRow {
  id: string;
  org_id: string;
  name: string;
  kind: 'voice' | 'text';
  system_prompt: string;
  greeting: string;
  language: string;
  voice: string | null;
  /** Settings without the key, plus has_api_key: what the API shows, readable without decrypting. */
  stt: ProviderSettings | null;
  llm: ProviderSettings | null;
  tts: ProviderSettings | null;
  speech_to_speech: ProviderChoice | null;
  provider_secrets_enc: string | null;
  tools: Tool[];
  webhook_url: string | null;
  max_cps: number;
  max_concurrent_calls: number | null;
  on_limit: 'queue' | 'reject';
  /** A validated scripted flow (src/voice/flow), or null. */
  flow: unknown;
  /** How the conversation is held (null: every default). */
  conversation: ConversationSettings | null;
  /** Defaults for the agent's calls (a call's own replaces each whole); null: none. */
  machine_detection: MachineDetection | null;
  voicemail: Voicemail | null;
  created_at: Date;
  updated_at: Date;
}

/** The agent row, deleted or not when includeDeleted (a deleted agent's calls stay readable). */
export async function findAgentRow(db: Queryable, orgId: string, id: string, includeDeleted = false): Promise<AgentRow | undefined> {
  const r = await db.query<AgentRow>(
    includeDeleted
      ? sql`select * from agents where org_id = ${orgId} and id = ${id}`
      : sql`select * from agents where org_id = ${orgId} and id = ${id} and deleted_at is null`,
  );
  return r.rows[0];
}

