/**
 * Entry of a media worker thread: the SIP user agent, the RTP legs and greeting playout live here,
 * on their own event loop, so HTTP and database work on the main thread never delays a packet.
 * Commands arrive by postMessage (protocol.ts); events go back the same way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MediaConfig } from '../config.js';
import { PocketsphinxStt } from '../providers/stt/pocketsphinx.js';
import { EspeakNgTts } from '../providers/tts/espeak-ng.js';
import { EnergyVad } from '../providers/vad/energy.js';
import { realClock } from '../telephony/clock.js';
import { CallLeg } from '../telephony/call-leg.js';
import { PortPool } from '../telephony/rtp/index.js';
import { StreamTransport, UdpTransport, UserAgent } from '../telephony/sip/index.js';
import { MediaRuntime } from './media-runtime.js';
import { transferablesOf, type WorkerCommand, type WorkerEvent } from './protocol.js';
import { voicePreparer } from './voice-call.js';

const port = parentPort;
if (!port) throw new Error('media-worker-main must run in a worker thread');
const cfg = workerData as MediaConfig;
// A recording's WAV is moved to the control thread, not copied.
const emit = (e: WorkerEvent) => port.postMessage(e, transferablesOf(e));

const udp = await UdpTransport.bind({ host: cfg.sipHost, port: cfg.sipPort, ...(cfg.advertiseHost ? { advertisedHost: cfg.advertiseHost } : {}) });
const tcp = await StreamTransport.tcp({ host: cfg.sipHost, port: udp.local.port, ...(cfg.advertiseHost ? { advertisedHost: cfg.advertiseHost } : {}) });
const ua = new UserAgent({ transports: [udp, tcp], userAgentName: 'Outcall' });
const portPool = new PortPool({ min: cfg.rtpPortMin, max: cfg.rtpPortMax });
const tts = new EspeakNgTts({ defaultVoice: cfg.ttsVoice });
const runtime = new MediaRuntime({
  tts,
  emit,
  // Agents with a flow or LLM settings hold a conversation: espeak-ng out, energy VAD + pocketsphinx in.
  prepareVoice: voicePreparer({ tts, vad: new EnergyVad(), stt: new PocketsphinxStt(), clock: realClock }),
  dialLeg: (cmd) =>
    CallLeg.dial({
      ua,
      portPool,
      localAddress: cfg.rtpHost,
      ...(cfg.advertiseHost ? { advertiseAddress: cfg.advertiseHost } : {}),
      ...(cmd.codecs ? { codecs: cmd.codecs } : {}),
      dial: {
        to: cmd.to,
        from: cmd.from,
        ...(cmd.callerIdName ? { callerIdName: cmd.callerIdName } : {}),
        customHeaders: cmd.customHeaders,
        ringTimeoutMs: cmd.ringTimeoutMs,
        trunk: cmd.trunk,
        ...(cmd.credentials ? { credentials: cmd.credentials } : {}),
      },
    }),
});

port.on('message', (cmd: WorkerCommand) => {
  runtime.handle(cmd);
  if (cmd.type === 'shutdown') {
    // Give CANCEL/BYE a moment to leave, then close the transports and let the thread end.
    setTimeout(() => {
      void ua.close().finally(() => port.close());
    }, 500);
  }
});
emit({ type: 'ready', sipPort: udp.local.port });
