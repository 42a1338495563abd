/** The sandbox phone network (callee side): magic numbers, personas, the service and its seed. */
export { startSandbox, type Sandbox, type SandboxOptions, type SandboxCallRecord } from './service.js';
export { seedSandbox, DEMO_FLOW, SANDBOX_AGENT_NAME, SANDBOX_TRUNK_NAME, type SandboxSeed } from './seed.js';
export { MAGIC_NUMBERS, SANDBOX_CALLER_ID, routeFor, type MagicNumber, type SandboxRoute } from './numbers.js';
export { BUNDLED_PERSONA_DIR, loadPersonas, parsePersona, personaProblems, type Persona, type PersonaLine } from './persona.js';
export { PersonaTurns, type TurnAction, type TurnHangupReason, type TurnState } from './turn-taking.js';
export type { AgentSpeechSpan, PersonaCallResult, PersonaTiming, SandboxRecording } from './persona-call.js';
export { BEEP_DEFAULT, type BeepSpec, type ToneSegment, type TonesSpec } from './tones.js';
