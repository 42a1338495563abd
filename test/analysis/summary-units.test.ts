import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractiveSummary, firstSentence } from '../../src/analysis/extractive-summary.js';
import { summaryMessages } from '../../src/analysis/llm-summary.js';
import { callMetrics, percentile } from '../../src/worker/control/call-metrics.js';
import { clip } from '../../src/analysis/transcript-text.js';
import type { TranscriptTurn } from '../../src/voice/events.js';

const turn = (speaker: 'agent' | 'callee', text: string, i: number): TranscriptTurn => ({ speaker, text, startMs: i * 1000, endMs: i * 1000 + 900, interrupted: false });

const booking: TranscriptTurn[] = [
  turn('agent', 'Hello Ana, this is Dr. Lee\'s office. Can we book your visit for Tuesday at 3 pm? It takes half an hour.', 0),
  turn('callee', 'yes please', 1),
  turn('agent', 'Do you need parking?', 2),
  turn('callee', '  no   thanks ', 3),
  turn('agent', 'Great, see you Tuesday at 3 pm. Goodbye!', 4),
];

test('extractive: the opening sentence, every callee answer and the closing line, in order', () => {
  assert.equal(
    extractiveSummary(booking),
    "Agent: Hello Ana, this is Dr. Lee's office. Callee: yes please Callee: no thanks Agent: Great, see you Tuesday at 3 pm. Goodbye!",
  );
});

test('extractive: deterministic, and without a callee answer just the opening', () => {
  assert.equal(extractiveSummary(booking), extractiveSummary([...booking]));
  assert.equal(extractiveSummary([turn('agent', 'Hi there. Anyone?', 0), turn('callee', ' ', 1), turn('agent', 'Goodbye.', 2)]), 'Agent: Hi there.');
  assert.equal(extractiveSummary([]), '');
});

test('extractive: a transcript of one line (a greeting-only call) is that whole line', () => {
  const greeting = 'Hello, this is Outcall. Your order ships tomorrow. Goodbye.';
  assert.equal(extractiveSummary([turn('agent', `  ${greeting} `, 0)]), `Agent: ${greeting}`);
  // Two lines are no longer "one line": the opening sentence rule applies again.
  assert.equal(extractiveSummary([turn('agent', greeting, 0), turn('agent', 'Bye.', 1)]), 'Agent: Hello, this is Outcall.');
  assert.ok(extractiveSummary([turn('agent', 'word '.repeat(300), 0)]).length <= 500);
});

test('extractive: long lines are clipped at a word, and the whole stays under maxChars', () => {
  const long = 'word '.repeat(200).trim();
  const s = extractiveSummary([turn('agent', 'Hello.', 0), turn('callee', long, 1), turn('callee', long, 2), turn('callee', long, 3), turn('callee', long, 4)], { maxChars: 300, maxPieceChars: 100 });
  assert.ok(s.length <= 300, `${s.length}`);
  assert.ok(s.endsWith('…'));
  assert.ok(!/wor…|wo…/.test(s), 'cut at a word boundary');
  assert.ok(s.startsWith('Agent: Hello. Callee: word word'));
  assert.equal(clip('short', 10), 'short');
});

test('firstSentence: up to the first sentence end followed by a space (not inside "3.5")', () => {
  assert.equal(firstSentence('It costs 3.5 dollars. Pay now.'), 'It costs 3.5 dollars.');
  assert.equal(firstSentence('no end here'), 'no end here');
});

test('the LLM summary request carries the transcript (and the call context) as labelled lines', () => {
  const m = summaryMessages(booking, 'Appointment with Dr. Lee');
  assert.equal(m[0]?.role, 'system');
  const user = m[1];
  assert.equal(user?.role, 'user');
  assert.match(user?.content ?? '', /Context of the call:\nAppointment with Dr\. Lee/);
  assert.match(user?.content ?? '', /Agent: Hello Ana.*\nCallee: yes please\nAgent: Do you need parking\?\nCallee: no thanks\nAgent: Great/s);
});

test('metrics: per-turn latencies in ms, p50 (nearest rank) and max of end-to-end, answer -> greeting', () => {
  assert.equal(percentile([], 50), undefined);
  assert.equal(percentile([5], 50), 5);
  assert.equal(percentile([40, 10, 30, 20], 50), 20);
  assert.equal(percentile([40, 10, 30, 20, 50], 50), 30);
  const m = callMetrics({
    answerToGreetingMs: 12.4,
    turns: [
      { turnId: 1, sttFinalMs: 300.2, ttsFirstAudioMs: 500, endToEndMs: 520 },
      { turnId: 2, sttFinalMs: 280, llmFirstTokenMs: 410, ttsFirstAudioMs: 700, endToEndMs: 730 },
      { turnId: 3, sttFinalMs: 250 },
    ],
  });
  assert.deepEqual(m, {
    answer_to_greeting_ms: 12,
    end_to_end_p50_ms: 520,
    end_to_end_max_ms: 730,
    turns: [
      { turn_id: 1, stt_final_ms: 300, llm_first_token_ms: null, tts_first_audio_ms: 500, end_to_end_ms: 520 },
      { turn_id: 2, stt_final_ms: 280, llm_first_token_ms: 410, tts_first_audio_ms: 700, end_to_end_ms: 730 },
      { turn_id: 3, stt_final_ms: 250, llm_first_token_ms: null, tts_first_audio_ms: null, end_to_end_ms: null },
    ],
  });
  assert.deepEqual(callMetrics({ turns: [] }), { answer_to_greeting_ms: null, end_to_end_p50_ms: null, end_to_end_max_ms: null, turns: [] });
  // Provider switches are shown only when there were some, with their time rounded to whole ms.
  const f = callMetrics({ turns: [], providerFallbacks: [{ kind: 'stt', from: 'deepgram', to: 'openai', code: 'provider_failed', message: 'socket closed', atMs: 1520.6 }] });
  assert.deepEqual(f.provider_fallbacks, [{ kind: 'stt', from: 'deepgram', to: 'openai', code: 'provider_failed', message: 'socket closed', at_ms: 1521 }]);
});

test('firstSentence: titles and initials do not end a sentence', () => {
  assert.equal(firstSentence('This is Dr. Lee and J. Smith calling. Hello.'), 'This is Dr. Lee and J. Smith calling.');
  assert.equal(firstSentence('Call me at no. 5 tomorrow! Bye.'), 'Call me at no. 5 tomorrow!');
});
