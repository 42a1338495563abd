/**
 * What a call's tools need from the rest of the worker. The runner is made before dialing (with the
 * brain) but the leg and the session exist only once the call is dialed, so they come late, through
 * CallControl.
 */
import type { Tool } from '../../../contract/agent.js';
import type { Clock } from '../../../time/clock.js';
import type { LegEvent, Leg } from '../../../voice/leg.js';

/** The end reasons a tool may give the call. */
export type ToolEndReason = 'transferred';

/** The live call as the tools see it (a VoiceSession on a CallLeg provides it). */
export interface CallControl {
  readonly leg: Pick<Leg, 'transfer' | 'sendDtmf'> & { on(listener: (e: LegEvent) => void): () => void };
  /** Resolves once everything the agent has said so far has played (or was cut, or the call ended). */
  untilSpoken(): Promise<void>;
  /** The call now ends for `reason`: after the current turn (what was said has played), or when the far end hangs up first. */
  endAfterTurn(reason: ToolEndReason): void;
  /** While set, a hang-up by the far end ends the call for this reason instead of callee_hangup (a transfer in flight). */
  expectRemoteEnd(reason: ToolEndReason | undefined): void;
}

/** The CallControl of a live session (cascaded or speech-to-speech), bound to it. */
export function callControl(leg: CallControl['leg'], session: Omit<CallControl, 'leg'>): CallControl {
  return {
    leg,
    untilSpoken: () => session.untilSpoken(),
    endAfterTurn: (reason) => session.endAfterTurn(reason),
    expectRemoteEnd: (reason) => session.expectRemoteEnd(reason),
  };
}

/** Everything a call's tools need, fixed when the call is dialed (VoiceCallSpec.toolContext). */
export interface ToolCallContext {
  callId: string;
  agentId: string;
  /** The call's metadata (parsed). */
  metadata: unknown;
  /** The call's metadata as the client sent it: http tools send this text, byte for byte, when present. */
  metadataJson?: string | null;
  /** The organization's valid webhook signing secrets, newest first (Standard Webhooks, one signature each). */
  signingSecrets: string[];
  /** OUTCALL_ALLOW_PRIVATE_URLS: http tools may reach private addresses. */
  allowPrivateUrls: boolean;
  /** Where a bare number in transfer_to is sent (sip:number@host:port). */
  trunk: { host: string; port: number };
}

export interface ToolRunnerDeps {
  tools: readonly Tool[];
  context: ToolCallContext;
  clock: Clock;
  /** The call, once dialed; undefined before (a tool then fails with tool_unavailable). */
  control: () => CallControl | undefined;
  /** Largest http tool answer accepted, in bytes (default 32 KiB: it goes into the model's context). */
  maxResponseBytes?: number;
  /** How long a transfer waits for the NOTIFY reporting its outcome before hanging up anyway (default 10 s). */
  transferNotifyWaitMs?: number;
}
