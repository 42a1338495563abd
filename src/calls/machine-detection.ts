/**
 * A call's answering-machine settings: the call's own `machine_detection` and `voicemail`, else its
 * agent's defaults (each replaced whole), checked so that every accepted combination does what it
 * says. Stored on the call with every default filled, so the call object shows what will run.
 */
import { AMD_TIMING, VOICEMAIL_ACTION_DEFAULT, type VoicemailAction } from '../contract/call-defaults.js';
import type { MachineDetection, Voicemail } from '../contract/machine-detection.js';
import { missingVariables } from '../contract/templates.js';
import { OutcallError } from '../errors.js';

/** machine_detection as stored on a call: disabled, or every timing filled. */
export type StoredMachineDetection =
  | { mode: 'disabled'; hangup_on_machine: false }
  | ({ mode: 'detect' | 'detect_message_end'; hangup_on_machine: boolean; gate_greeting: boolean; screening_response?: string } & { [K in keyof typeof AMD_TIMING]: number });

export interface StoredVoicemail {
  action: VoicemailAction;
  message?: string;
}

const DISABLED: StoredMachineDetection = { mode: 'disabled', hangup_on_machine: false };

/** Each setting on its own (an agent's defaults, or a call's): refused when it could not act as documented. */
export function checkMachineSettings(md: MachineDetection | null | undefined, vm: Voicemail | null | undefined): void {
  if (md && md.mode === 'disabled') {
    const tuned = (Object.keys(AMD_TIMING) as Array<keyof typeof AMD_TIMING>).find((k) => md[k] !== undefined);
    if (md.hangup_on_machine === true) {
      throw new OutcallError('conflicting_fields', 'machine_detection.hangup_on_machine needs a mode that detects machines ("detect" or "detect_message_end")', 'machine_detection.hangup_on_machine');
    }
    if (tuned) throw new OutcallError('conflicting_fields', `machine_detection.${tuned} tunes a detector that mode "disabled" does not run`, `machine_detection.${tuned}`);
    if (md.gate_greeting === true) {
      throw new OutcallError('conflicting_fields', 'machine_detection.gate_greeting waits for a verdict that mode "disabled" never gives', 'machine_detection.gate_greeting');
    }
    if (md.screening_response !== undefined) {
      throw new OutcallError('conflicting_fields', 'machine_detection.screening_response is said only when detection finds a screening assistant: mode "disabled" finds none', 'machine_detection.screening_response');
    }
  }
  if (md?.hangup_on_machine === true && vm && vm.action !== 'hangup') {
    throw new OutcallError(
      'conflicting_fields',
      `machine_detection.hangup_on_machine hangs up on a machine, but voicemail.action is "${vm.action}": give one of them`,
      'voicemail.action',
    );
  }
  if (vm?.action === 'leave_message' && vm.message === undefined) {
    throw new OutcallError('missing_field', 'voicemail.action "leave_message" needs voicemail.message (what to say after the beep)', 'voicemail.message');
  }
  if (vm && vm.action !== 'leave_message' && vm.message !== undefined) {
    throw new OutcallError('conflicting_fields', `voicemail.message is said only by action "leave_message", not "${vm.action}"`, 'voicemail.message');
  }
}

/**
 * What a call runs: its own settings over its agent's. Refused (422) when the result asks for a
 * voicemail action without detection, or the agent has nothing to say to act on a verdict with (no
 * greeting and no conversation).
 */
export function callMachineSettings(
  call: { machine_detection?: MachineDetection | undefined; voicemail?: Voicemail | undefined; dynamic_variables?: Record<string, string> | undefined },
  agent: {
    machine_detection: MachineDetection | null;
    voicemail: Voicemail | null;
    converses: boolean;
    /** A greeting-only agent with a line to say: its calls detect in a session of that one line (agents/voice-spec.ts greetingOnlyVoiceSpecFor). */
    greets: boolean;
  },
): { machine_detection: StoredMachineDetection; voicemail: StoredVoicemail | null } {
  checkMachineSettings(call.machine_detection, call.voicemail);
  const md = call.machine_detection ?? agent.machine_detection ?? undefined;
  const vm = call.voicemail ?? agent.voicemail ?? undefined;
  if (!md || md.mode === 'disabled') {
    if (call.voicemail) {
      throw new OutcallError('conflicting_fields', 'voicemail acts on a machine verdict: set machine_detection.mode to "detect" or "detect_message_end" (on the call or its agent)', 'voicemail');
    }
    return { machine_detection: DISABLED, voicemail: null };
  }
  if (!agent.converses && !agent.greets) {
    throw new OutcallError(
      'setting_not_applicable',
      'machine_detection acts through what the agent says: this agent has no greeting, no flow, no llm and no speech-to-speech model',
      'machine_detection.mode',
    );
  }
  if (md.hangup_on_machine === true && vm && vm.action !== 'hangup') {
    throw new OutcallError('conflicting_fields', `machine_detection.hangup_on_machine hangs up on a machine, but voicemail.action is "${vm.action}"`, 'voicemail.action');
  }
  const message = vm?.message;
  for (const [field, text] of [['voicemail.message', message], ['machine_detection.screening_response', md.screening_response]] as const) {
    if (text === undefined) continue;
    const missing = missingVariables([text], call.dynamic_variables ?? {});
    if (missing.length > 0) {
      throw new OutcallError('missing_dynamic_variable', `${field} uses {{${missing.join('}}, {{')}}} but dynamic_variables does not give it`, `dynamic_variables.${missing[0]}`);
    }
  }
  const timings = Object.fromEntries(
    (Object.keys(AMD_TIMING) as Array<keyof typeof AMD_TIMING>).map((k) => [k, md[k] ?? AMD_TIMING[k].default]),
  ) as { [K in keyof typeof AMD_TIMING]: number };
  const action: VoicemailAction = md.hangup_on_machine === true ? 'hangup' : (vm?.action ?? VOICEMAIL_ACTION_DEFAULT);
  return {
    machine_detection: { mode: md.mode, hangup_on_machine: action === 'hangup', gate_greeting: md.gate_greeting === true, ...timings, ...(md.screening_response !== undefined ? { screening_response: md.screening_response } : {}) },
    voicemail: { action, ...(message !== undefined && action === 'leave_message' ? { message } : {}) },
  };
}
