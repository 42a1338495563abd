/**
 * Entry of a media worker thread: the SIP user agent, the RTP legs and greeting playout live here,
 * on their own event loop, so HTTP and database work on the main thread never delays a packet.
 * Commands arrive by postMessage (protocol.ts); events go back the same way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MediaConfig } from '../../config.js';
import { checkSpeechChoice, SpeechRegistry, type EngineHooks } from '../../providers/registry.js';
import { closeIdleTtsConnections } from '../../providers/tts/ws-pool.js';
import { realClock } from '../../time/clock.js';
import { CallLeg } from '../../telephony/call-leg.js';
import { InboundLeg } from '../../telephony/inbound-leg.js';
import type { InboundCall, Registration } from '../../telephony/sip/index.js';
import { PortPool } from '../../telephony/rtp/index.js';
import { StreamTransport, UserAgent } from '../../telephony/sip/index.js';
import { bindUdpTcpPair } from '../../telephony/sip/udp-tcp-pair.js';
import type { AudioCodecToken } from '../../telephony/answer-codec.js';
import { offerTokens } from '../../telephony/leg-events.js';
import { CallerGoneError, MediaRuntime } from './media-runtime.js';
import { SourceGuard } from './source-guard.js';
import { transferablesOf, type RegisterCommand, type WorkerCommand, type WorkerEvent } from '../protocol.js';
import { voicePreparer } from './voice-call.js';

const port = parentPort;
if (!port) throw new Error('media-worker-main must run in a worker thread');
const cfg = workerData as MediaConfig;
// A recording's WAV is moved to the control thread, not copied.
const emit = (e: WorkerEvent) => port.postMessage(e, transferablesOf(e));

const advertised = cfg.advertiseHost ? { advertisedHost: cfg.advertiseHost } : {};
const { udp, tcp } = await bindUdpTcpPair({ host: cfg.sipHost, port: cfg.sipPort, ...advertised });
// TLS trunks: connections out only (the worker has no certificate of its own); the far end's requests
// come back on the connection we opened, which is reused per destination and trust.
const tlsOut = StreamTransport.tlsClient({ host: cfg.sipHost, port: udp.local.port, ...advertised });
const ua = new UserAgent({ transports: [udp, tcp, tlsOut], userAgentName: 'Outcall' });
const portPool = new PortPool({ min: cfg.rtpPortMin, max: cfg.rtpPortMax });
// One registry per media thread: its engines (and Silero's model session) are shared by the thread's calls.
const speech = new SpeechRegistry({
  espeakVoice: cfg.ttsVoice,
  onVadFallback: (err) =>
    emit({ type: 'log', level: 'warn', message: `Silero VAD cannot run on this worker, using the energy VAD instead: ${err.message}` }),
});
/**
 * Inbound INVITEs this thread holds (ringing) until the control side answers or refuses them. One
 * the caller gives up on is forgotten; an answer for it finds it gone (caller_abandoned).
 */
const invites = new Map<string, InboundCall>();
/** An INVITE the control side never decides on (it died, or is stuck) is refused after this long (over the inbound webhook's 10 s maximum). */
const INVITE_DECISION_MS = 15_000;
/** Sources refused 403 too often are refused here at once (source-guard.ts); their count goes to the control side each second. */
const guard = new SourceGuard();
let refusedAtEdge = 0;
setInterval(() => {
  if (refusedAtEdge === 0) return;
  emit({ type: 'refused-at-edge', count: refusedAtEdge });
  refusedAtEdge = 0;
}, 1000).unref();
// Blocked sources are refused before any transaction is made: a scanner's flood costs almost nothing.
ua.screenInvites((source) => {
  if (!guard.blocked(source.host)) return undefined;
  refusedAtEdge++;
  return 403;
});
ua.onInvite((call) => {
  if (shuttingDown) {
    // RFC 3261 §21.5.4: not now, try elsewhere or later.
    call.reject(503, 'Service Unavailable');
    return;
  }
  invites.set(call.callId, call);
  const forget = setTimeout(() => {
    if (invites.delete(call.callId)) call.reject(500, 'Server Internal Error');
  }, INVITE_DECISION_MS);
  forget.unref();
  call.on((ev) => {
    if (ev.type !== 'ended') return;
    clearTimeout(forget);
    invites.delete(call.callId);
  });
  // The caller hears ringback while the control side finds the number's agent.
  call.ringing();
  const src = call.source;
  emit({
    type: 'incoming',
    inviteId: call.callId,
    dialed: call.dialed,
    toUser: call.toUser,
    from: call.caller,
    ...(call.callerName !== undefined ? { callerName: call.callerName } : {}),
    source: { address: src.host, port: src.port },
    transport: src.transport,
    authorization: call.authorization,
    at: Date.now(),
  });
});

/** Takes a held INVITE for an answer or a refusal: it is this thread's no longer. */
function takeInvite(inviteId: string): InboundCall | undefined {
  const call = invites.get(inviteId);
  invites.delete(inviteId);
  return call;
}

const runtime = new MediaRuntime({
  // Greeting-only agents speak with the default engine.
  tts: speech.tts(undefined),
  greetingTts: (chain, language, voice) => {
    if (chain) checkSpeechChoice({ tts: chain });
    const onFallback: EngineHooks['onFallback'] = (f) =>
      emit({ type: 'log', level: 'warn', message: `greeting ${f.kind} provider ${f.from} failed (${f.code}: ${f.message}); ${f.to} takes over` });
    return speech.tts(chain, { onFallback }, language, voice);
  },
  emit,
  // Agents with a flow or LLM settings hold a conversation with the engines they chose (registry defaults:
  // flite-wasm out (or espeak-ng: defaultTtsProvider), Silero VAD + pocketsphinx in). An agent without tts
  // settings speaks its `voice` with the default engine, which that voice (and the language) picks.
  prepareVoice: voicePreparer({
    engines: (spec, hooks) => speech.engines({ ...spec.speech, ...(spec.voice && !spec.speech?.tts ? { defaultVoice: spec.voice } : {}) }, hooks),
    clock: realClock,
  }),
  answerLeg: async (cmd) => {
    const call = takeInvite(cmd.inviteId);
    if (!call || call.state === 'ended') throw new CallerGoneError();
    return new InboundLeg(call, {
      portPool,
      localAddress: cfg.rtpHost,
      ...(cfg.advertiseHost ? { advertiseAddress: cfg.advertiseHost } : {}),
      // The codec order of the trunk (or worker), as an answer's preference among what the caller offers.
      ...(cmd.codecs ? { codecs: offerTokens(cmd.codecs).filter((c): c is AudioCodecToken => c !== 'telephone-event') } : {}),
      ...(cmd.mediaEncryption ? { mediaEncryption: cmd.mediaEncryption } : {}),
    });
  },
  rejectInvite: (cmd) => {
    const call = takeInvite(cmd.inviteId);
    if (!call) return;
    if (cmd.status === 403 || cmd.strike) guard.refused(call.source.host);
    call.reject(cmd.status, cmd.reason, cmd.headers);
  },
  dialLeg: (cmd) =>
    CallLeg.dial({
      ua,
      portPool,
      localAddress: cfg.rtpHost,
      ...(cfg.advertiseHost ? { advertiseAddress: cfg.advertiseHost } : {}),
      ...(cmd.codecs ? { codecs: cmd.codecs } : {}),
      ...(cmd.mediaEncryption ? { mediaEncryption: cmd.mediaEncryption } : {}),
      dial: {
        to: cmd.to,
        from: cmd.from,
        ...(cmd.callerIdName ? { callerIdName: cmd.callerIdName } : {}),
        customHeaders: cmd.customHeaders,
        ringTimeoutMs: cmd.ringTimeoutMs,
        trunk: { host: cmd.trunk.host, port: cmd.trunk.port, transport: cmd.trunk.transport },
        ...(cmd.trunk.tlsCaPem !== undefined ? { tls: { ca: cmd.trunk.tlsCaPem } } : {}),
        ...(cmd.credentials ? { credentials: cmd.credentials } : {}),
      },
    }),
});

/** Trunk registrations this thread keeps (its SIP port is the Contact registered), with what each registers. */
const registrations = new Map<string, Registration>();
const registered = new Map<string, string>();

function register(cmd: RegisterCommand): void {
  const binding = JSON.stringify([cmd.registrar, cmd.user]);
  if (registered.get(cmd.trunkId) === binding) {
    // Same registrar and contact (a new password or expiry): the new REGISTER replaces the binding.
    registrations.get(cmd.trunkId)?.abort();
    registrations.delete(cmd.trunkId);
  } else unregister(cmd.trunkId);
  registered.set(cmd.trunkId, binding);
  const reg = ua.register({
    registrar: cmd.registrar,
    user: cmd.user,
    ...(cmd.credentials ? { credentials: cmd.credentials } : {}),
    expiresS: cmd.expiresS,
    onStatus: (s) => {
      // A replaced registration's own end is not news: the new one reports.
      if (s.state === 'unregistered' && registrations.get(cmd.trunkId) !== reg) return;
      emit({
        type: 'registration',
        trunkId: cmd.trunkId,
        state: s.state,
        ...(s.expiresAtMs !== undefined ? { expiresAt: s.expiresAtMs } : {}),
        ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
        ...(s.lastSuccessAtMs !== undefined ? { lastSuccessAt: s.lastSuccessAtMs } : {}),
        at: Date.now(),
      });
    },
  });
  registrations.set(cmd.trunkId, reg);
}

/** Removals (REGISTER Expires: 0) still waiting for the registrar's answer. */
const removals = new Set<Promise<void>>();

function unregister(trunkId: string): void {
  const reg = registrations.get(trunkId);
  registrations.delete(trunkId);
  registered.delete(trunkId);
  if (!reg) return;
  const p = reg.stop().finally(() => removals.delete(p));
  removals.add(p);
}

/** Removes every binding, waiting at most this long for the registrars' answers. */
async function unregisterAll(maxMs: number): Promise<void> {
  for (const id of [...registrations.keys()]) unregister(id);
  await Promise.race([Promise.all(removals), new Promise((r) => setTimeout(r, maxMs).unref())]);
}

/** The most a shutdown waits for live calls to end and their ends to be reported (under the host's 3 s grace, media-thread.ts). */
const SHUTDOWN_SETTLE_MS = 2200;

/** A second shutdown (drainMs 0) only ends the calls still draining; the thread closes once. */
let shuttingDown = false;

port.on('message', (cmd: WorkerCommand) => {
  if (cmd.type === 'register') {
    if (!shuttingDown) register(cmd);
    return;
  }
  if (cmd.type === 'unregister') {
    unregister(cmd.trunkId);
    return;
  }
  runtime.handle(cmd);
  if (cmd.type === 'shutdown' && !shuttingDown) {
    shuttingDown = true;
    // Give CANCEL/BYE a moment to leave and the calls' ends (their last words) to be reported, then
    // close the transports and let the thread end.
    void Promise.all([new Promise((r) => setTimeout(r, 500)), runtime.whenIdle((cmd.drainMs ?? 0) + SHUTDOWN_SETTLE_MS)]).then(async () => {
      // Our bindings go before the socket does, so the registrar stops sending calls here at once.
      await unregisterAll(1500);
      // Vendor sockets kept for the next utterance are closed politely rather than dropped.
      closeIdleTtsConnections();
      void ua.close().finally(() => port.close());
    });
  }
});
// The default engines load now, not at the first call's answer (SpeechRegistry.prewarm).
await speech.prewarm();
emit({ type: 'ready', sipPort: udp.local.port });
