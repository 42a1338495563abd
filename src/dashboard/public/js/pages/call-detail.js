/**
 * #/calls/<id>: one call — its details, live status and transcript while it runs (the call's
 * server-sent event stream), the stored transcript with timings once it ends, per-turn latency,
 * the recording, its status timeline and its webhook deliveries (with redelivery).
 *
 * Fields another part of the API may or may not have yet (metrics, recording, summary_source,
 * analyzed_at) are shown when present and simply left out when absent.
 */
import { api, apiBlob, ApiError, query, watchCall } from '../api.js';
import { badge, fmtDuration, fmtMs, fmtOffset, fmtTime, h, link, pre, replace, section, table, TERMINAL } from '../dom.js';

/** How long to wait after the end for post-call work (recording, metrics, summary) to appear. */
const ANALYSIS_WAIT_MS = 90_000;
const ANALYSIS_POLL_MS = 2000;
/** How long to keep re-reading deliveries that are still pending (retries back off far longer). */
const DELIVERY_FOLLOW_MS = 60_000;

export async function callDetailPage(root, { params: [callId], signal }) {
  const id = encodeURIComponent(callId);
  const get = (path) => api('GET', path, undefined, { signal });
  const state = {
    call: await get(`/v1/calls/${id}`),
    events: [],
    liveTurns: [],
    liveLatency: new Map(),
    transcript: null,
    deliveries: [],
    agent: null,
    stream: 'idle',
    ringing: null,
  };

  const el = {
    head: h('div', { class: 'page-head' }),
    details: h('div'),
    summary: h('div'),
    recording: h('div', { id: 'recording' }),
    transcript: h('div', { id: 'transcript' }),
    latency: h('div', { id: 'latency' }),
    timeline: h('div', { id: 'timeline' }),
    deliveries: h('div', { id: 'deliveries' }),
  };
  replace(
    root,
    el.head,
    h('div', { class: 'grid-2' }, section('Details', el.details), h('div', null, el.summary, el.recording, section('Latency', el.latency))),
    section('Transcript', el.transcript),
    section('Timeline', el.timeline),
    section('Webhook deliveries', el.deliveries),
  );

  const active = () => !TERMINAL.includes(state.call.status);

  const drawHead = () => {
    const c = state.call;
    const cancel = active()
      ? h('button', { type: 'button', class: 'danger', id: 'cancel-call', onclick: () => cancelCall() }, 'Cancel call')
      : null;
    const streamNote = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', ended: 'ended', error: 'live updates unavailable', idle: '' }[state.stream];
    replace(
      el.head,
      h('h1', null, 'Call ', h('code', null, c.id)),
      h('span', { id: 'call-status' }, badge(c.status)),
      streamNote ? h('span', { class: `stream stream-${state.stream}`, id: 'stream-state' }, streamNote) : null,
      state.ringing && c.status === 'dialing' ? h('span', { class: 'stream' }, state.ringing.early_media ? 'ringing (early media)' : 'ringing') : null,
      h('span', { class: 'spacer' }),
      cancel,
    );
  };

  const drawDetails = () => {
    const c = state.call;
    const rows = [
      ['Agent', state.agent ? link(`#/agents/${encodeURIComponent(c.agent_id)}`, state.agent.name) : h('code', null, c.agent_id)],
      ['To', c.to],
      ['From', c.from],
      ['Created', fmtTime(c.created_at)],
      ['Answered', fmtTime(c.answered_at)],
      ['Ended', fmtTime(c.ended_at)],
      ['Duration', fmtDuration(c.duration_s)],
      ['End reason', c.end_reason ?? '–'],
      ['SIP status', c.sip_status_code ?? '–'],
      ['Recording', c.record?.enabled ? `on (${c.record.channels})` : 'off'],
      c.call_context ? ['Call context', c.call_context] : null,
      Object.keys(c.dynamic_variables ?? {}).length > 0 ? ['Variables', pre(c.dynamic_variables)] : null,
      c.metadata !== null && c.metadata !== undefined ? ['Metadata', pre(c.metadata)] : null,
    ].filter(Boolean);
    replace(el.details, h('dl', { class: 'kv' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
  };

  const drawSummary = () => {
    const c = state.call;
    if (!c.summary_text) return replace(el.summary);
    replace(
      el.summary,
      section('Summary', h('p', { id: 'summary-text' }, c.summary_text), c.summary_source ? h('small', { class: 'hint' }, `source: ${c.summary_source}${c.analyzed_at ? ` · analyzed ${fmtTime(c.analyzed_at)}` : ''}`) : null),
    );
  };

  // The recording needs the key, so it is fetched as a blob and played from an object URL.
  let recordingUrl;
  let recordingShownFor;
  signal.addEventListener('abort', () => recordingUrl && URL.revokeObjectURL(recordingUrl));
  const drawRecording = async () => {
    const r = state.call.recording;
    if (!r) return replace(el.recording);
    if (recordingShownFor === r.url) return;
    recordingShownFor = r.url;
    const audio = h('audio', { controls: true, preload: 'metadata', id: 'recording-audio' });
    const info = h('small', { class: 'hint' }, `${fmtMs(r.duration_ms)} · ${r.channels}${r.channels === 'dual' ? ' (callee left, agent right)' : ''} · ${r.sample_rate} Hz`);
    const status = h('p', { class: 'hint' }, 'loading…');
    replace(el.recording, section('Recording', audio, info, status));
    try {
      const path = typeof r.url === 'string' && r.url.startsWith('/') ? r.url : `/v1/calls/${id}/recording`;
      const blob = await apiBlob(path, { signal });
      if (recordingUrl) URL.revokeObjectURL(recordingUrl);
      recordingUrl = URL.createObjectURL(blob);
      audio.src = recordingUrl;
      replace(status, h('a', { href: recordingUrl, download: `${state.call.id}.wav` }, 'Download WAV'));
    } catch (err) {
      if (signal.aborted) return;
      recordingShownFor = undefined;
      replace(status, h('span', { class: 'form-error' }, `could not load the recording: ${err.message}`));
    }
  };

  const drawTranscript = () => {
    const stored = state.transcript?.turns;
    const turns = stored ?? state.liveTurns;
    const source = stored ? 'stored' : 'live';
    if (turns.length === 0) {
      return replace(el.transcript, h('p', { class: 'empty' }, active() ? 'Waiting for the conversation…' : 'No transcript for this call.'));
    }
    replace(
      el.transcript,
      h(
        'ol',
        { class: 'turns', dataset: { source } },
        turns.map((t) =>
          h(
            'li',
            { class: `turn ${t.speaker === 'agent' ? 'agent' : 'callee'}`, dataset: { speaker: t.speaker, source } },
            h('div', { class: 'turn-meta' }, h('strong', null, t.speaker), ' ', h('span', { class: 'time' }, `${fmtOffset(t.startMs)} – ${fmtOffset(t.endMs)}`), t.interrupted ? h('span', { class: 'badge interrupted' }, 'interrupted') : null),
            h('div', { class: 'turn-text' }, t.text || '…'),
            Array.isArray(t.toolCalls) && t.toolCalls.length > 0
              ? h('details', { class: 'tools' }, h('summary', null, `${t.toolCalls.length} tool call(s): ${t.toolCalls.map((x) => x.name).join(', ')}`), pre(t.toolCalls))
              : null,
          ),
        ),
      ),
      source === 'live' ? h('small', { class: 'hint' }, 'live: lines appear as they are spoken; the stored transcript replaces them when the call ends') : null,
    );
  };

  const drawLatency = () => {
    const m = state.call.metrics;
    const rows = m?.turns ?? [...state.liveLatency.values()];
    const summary = m
      ? h('dl', { class: 'kv' }, [
          [h('dt', null, 'Answer → greeting'), h('dd', null, fmtMs(m.answer_to_greeting_ms))],
          [h('dt', null, 'End-to-end p50'), h('dd', null, fmtMs(m.end_to_end_p50_ms))],
          [h('dt', null, 'End-to-end max'), h('dd', null, fmtMs(m.end_to_end_max_ms))],
        ])
      : null;
    replace(
      el.latency,
      summary,
      table(
        ['Turn', 'STT final', 'LLM first token', 'TTS first audio', 'End to end'],
        rows.map((t) => [t.turn_id, fmtMs(t.stt_final_ms), fmtMs(t.llm_first_token_ms), fmtMs(t.tts_first_audio_ms), fmtMs(t.end_to_end_ms)]),
        'No replies measured yet (each is timed from the end of the callee\'s speech).',
      ),
    );
  };

  const drawTimeline = () => {
    replace(
      el.timeline,
      table(
        ['Time', 'From', 'To', 'Data'],
        state.events.map((e) => h('tr', { dataset: { eventId: e.id } }, h('td', null, fmtTime(e.at)), h('td', null, e.from_status ? badge(e.from_status) : '–'), h('td', null, badge(e.to_status)), h('td', null, Object.keys(e.data ?? {}).length > 0 ? h('code', null, JSON.stringify(e.data)) : ''))),
        'No status changes yet.',
      ),
    );
  };

  const drawDeliveries = () => {
    const refresh = h('button', { type: 'button', class: 'ghost small', onclick: () => loadDeliveries().catch(() => {}) }, 'Refresh');
    replace(
      el.deliveries,
      table(
        ['Type', 'Status', 'Attempts', 'Last answer', 'URL', 'Created', ''],
        state.deliveries.map((d) =>
          h(
            'tr',
            { dataset: { deliveryId: d.id } },
            h('td', null, d.type),
            h('td', null, h('span', { class: `badge delivery-${d.status}` }, d.status)),
            h('td', null, d.attempts),
            h('td', null, d.last_status_code ?? d.last_error ?? '–'),
            h('td', { class: 'url' }, d.url),
            h('td', null, fmtTime(d.created_at)),
            h('td', null, h('button', { type: 'button', class: 'small', onclick: (ev) => redeliver(d.id, ev.currentTarget) }, 'Redeliver')),
          ),
        ),
        'No webhooks for this call (no callback_url or status_callback).',
      ),
      refresh,
    );
  };

  const drawAll = () => {
    drawHead();
    drawDetails();
    drawSummary();
    drawTranscript();
    drawLatency();
    drawTimeline();
    drawDeliveries();
    void drawRecording();
  };

  async function loadDeliveries() {
    state.deliveries = (await get(`/v1/webhook-deliveries${query({ call_id: state.call.id, limit: 200 })}`)).data;
    drawDeliveries();
    void followDeliveries();
  }

  // While a delivery is on its way its row is re-read, so the outcome shows without a reload.
  const deliveryUnderway = () => state.deliveries.some((d) => d.status === 'pending' || d.status === 'delivering');
  // An answered call's result webhook is written once its summary is in (or the server's wait bound
  // passes), seconds after the end: until it exists, the page keeps looking for it.
  const resultNotYetWritten = () =>
    TERMINAL.includes(state.call.status) && Boolean(state.call.callback_url) && !state.deliveries.some((d) => d.type === 'call.result');
  let following = false;
  async function followDeliveries() {
    if (following) return;
    following = true;
    try {
      const until = Date.now() + DELIVERY_FOLLOW_MS;
      while (!signal.aborted && Date.now() < until && (deliveryUnderway() || resultNotYetWritten())) {
        await new Promise((r) => setTimeout(r, ANALYSIS_POLL_MS));
        if (signal.aborted) return;
        const page = await get(`/v1/webhook-deliveries${query({ call_id: state.call.id, limit: 200 })}`).catch(() => undefined);
        if (!page) continue;
        state.deliveries = page.data;
        drawDeliveries();
      }
    } finally {
      following = false;
    }
  }

  async function loadStored() {
    const [events, transcript] = await Promise.all([
      get(`/v1/calls/${id}/events`),
      state.call.transcript_id ? get(`/v1/transcripts/${encodeURIComponent(state.call.transcript_id)}`).catch(() => null) : null,
    ]);
    state.events = events.data;
    state.transcript = transcript;
  }

  async function redeliver(deliveryId, button) {
    button.disabled = true;
    try {
      await api('POST', `/v1/webhook-deliveries/${encodeURIComponent(deliveryId)}/redeliver`, undefined, { signal });
      await loadDeliveries();
    } catch (err) {
      if (!signal.aborted) button.after(h('span', { class: 'field-error' }, err.message));
      button.disabled = false;
    }
  }

  async function cancelCall() {
    const button = document.getElementById('cancel-call');
    if (button) button.disabled = true;
    try {
      state.call = await api('POST', `/v1/agents/${encodeURIComponent(state.call.agent_id)}/outbound-calls/${id}/cancel`, undefined, { signal });
      drawHead();
      drawDetails();
    } catch (err) {
      if (button && !signal.aborted) {
        button.disabled = false;
        button.after(h('span', { class: 'field-error', role: 'alert' }, err instanceof ApiError ? `${err.message} (${err.code})` : String(err)));
      }
    }
  }

  /** After the end: the recording, metrics and summary are written by post-call work a little later. */
  async function awaitAnalysis() {
    const pending = (c) =>
      ('recording' in c && c.record?.enabled && c.recording === null && c.status === 'completed') ||
      ('analyzed_at' in c && c.analyzed_at === null && c.status === 'completed');
    const until = Date.now() + ANALYSIS_WAIT_MS;
    while (!signal.aborted && pending(state.call) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, ANALYSIS_POLL_MS));
      if (signal.aborted) return;
      const c = await get(`/v1/calls/${id}`).catch(() => undefined);
      if (!c) continue;
      state.call = c;
      drawDetails();
      drawSummary();
      drawLatency();
      void drawRecording();
    }
  }

  const [agent] = await Promise.all([get(`/v1/agents/${encodeURIComponent(state.call.agent_id)}`).catch(() => null), loadStored(), loadDeliveries()]);
  state.agent = agent;
  drawAll();
  if (!active()) {
    void awaitAnalysis();
    return;
  }

  const onEvent = (name, data) => {
    switch (name) {
      case 'call':
        state.call = data;
        drawHead();
        drawDetails();
        break;
      case 'status':
        if (!state.events.some((e) => e.id === data.id)) state.events.push(data);
        state.call = { ...state.call, status: data.to_status };
        drawHead();
        drawTimeline();
        break;
      case 'ringing':
        state.ringing = data;
        drawHead();
        break;
      case 'turn':
        state.liveTurns.push(data);
        drawTranscript();
        break;
      case 'latency':
        state.liveLatency.set(data.turn_id, data);
        drawLatency();
        break;
      case 'end':
        state.call = data;
        break;
      default:
        break;
    }
  };
  const onState = (s) => {
    state.stream = s;
    drawHead();
  };
  try {
    await watchCall(state.call.id, onEvent, { signal, onState });
  } catch {
    // 4xx on the stream: the page still shows what it loaded; a reload polls again.
    return;
  }
  if (signal.aborted) return;
  await Promise.all([loadStored(), loadDeliveries()]);
  drawAll();
  await awaitAnalysis();
}
