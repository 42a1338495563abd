/**
 * The call's latency metrics as the API shows them, from what the media worker measured: answer ->
 * greeting, each agent reply's latencies (VoiceSession's TurnLatency), and p50 / max of end-to-end.
 */
import type { CallMetrics } from '../../contract/call.js';
import type { CallTimings } from '../protocol.js';

/** Nearest-rank percentile (p in (0, 100]) of values; undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const ms = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : Math.max(0, Math.round(v)));

export function callMetrics(t: CallTimings): CallMetrics {
  const ends = t.turns.map((x) => x.endToEndMs).filter((v): v is number => v !== undefined && Number.isFinite(v));
  return {
    answer_to_greeting_ms: ms(t.answerToGreetingMs),
    end_to_end_p50_ms: ms(percentile(ends, 50)),
    end_to_end_max_ms: ms(ends.length ? Math.max(...ends) : undefined),
    turns: t.turns.map((x) => ({
      turn_id: x.turnId,
      stt_final_ms: ms(x.sttFinalMs),
      llm_first_token_ms: ms(x.llmFirstTokenMs),
      tts_first_audio_ms: ms(x.ttsFirstAudioMs),
      end_to_end_ms: ms(x.endToEndMs),
    })),
    ...(t.providerFallbacks && t.providerFallbacks.length > 0
      ? { provider_fallbacks: t.providerFallbacks.map((f) => ({ kind: f.kind, from: f.from, to: f.to, code: f.code, message: f.message, at_ms: Math.max(0, Math.round(f.atMs)) })) }
      : {}),
    ...(t.media
      ? {
          media: {
            packets_sent: t.media.packetsSent,
            packets_received: t.media.packetsReceived,
            packets_lost: t.media.packetsLost,
            late_packets: t.media.latePackets,
            concealed_ms: Math.round(t.media.concealedMs),
            jitter_ms: t.media.jitterMs,
            send_stalled_ms: t.media.sendStalledMs,
            send_lateness_p99_ms: t.media.sendLatenessP99Ms,
          },
        }
      : {}),
  };
}
