import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paramPath } from '../../src/api/validation.js';
import { loadConfig } from '../../src/config.js';
import { decodeCursor, encodeCursor } from '../../src/store/pagination.js';

test('param paths read like the JSON a client wrote', () => {
  assert.equal(paramPath('/status_callback/url'), 'status_callback.url');
  assert.equal(paramPath('/custom_sip_headers/0/name'), 'custom_sip_headers[0].name');
  assert.equal(paramPath('', 'to'), 'to');
  assert.equal(paramPath('/record', 'enabled'), 'record.enabled');
});

test('cursors round-trip and foreign ones are refused', () => {
  const c = encodeCursor({ at: '2026-01-01T00:00:00.000Z', id: 'call_1' });
  assert.deepEqual(decodeCursor(c), { at: '2026-01-01T00:00:00.000Z', id: 'call_1' });
  assert.throws(() => decodeCursor('not-a-cursor'), { code: 'invalid_cursor' });
  assert.throws(() => decodeCursor(Buffer.from('["x","y"]').toString('base64url')), { code: 'invalid_cursor' });
});

test('configuration is read from the environment with checked values', () => {
  const c = loadConfig({});
  assert.equal(c.dataDir, './data');
  assert.equal(c.port, 8080);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.allowPrivateUrls, false);
  assert.equal(loadConfig({ OUTCALL_ALLOW_PRIVATE_URLS: 'true', OUTCALL_PORT: '9000' }).port, 9000);
  assert.throws(() => loadConfig({ OUTCALL_PORT: 'eighty' }), { code: 'config_invalid' });
  assert.throws(() => loadConfig({ OUTCALL_ALLOW_PRIVATE_URLS: 'maybe' }), { code: 'config_invalid' });
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), { code: 'config_invalid' });
  assert.throws(() => loadConfig({ OUTCALL_LOG_LEVEL: 'loud' }), { code: 'config_invalid' });
});

test('OUTCALL_RESULT_SUMMARY_WAIT_S: how long call.result waits for the LLM summary, 15 s by default, 0-300', () => {
  assert.equal(loadConfig({}).resultSummaryWaitMs, 15_000);
  assert.equal(loadConfig({ OUTCALL_RESULT_SUMMARY_WAIT_S: '4' }).resultSummaryWaitMs, 4000);
  assert.equal(loadConfig({ OUTCALL_RESULT_SUMMARY_WAIT_S: '0' }).resultSummaryWaitMs, 0);
  assert.throws(() => loadConfig({ OUTCALL_RESULT_SUMMARY_WAIT_S: '301' }), { code: 'config_invalid' });
  assert.throws(() => loadConfig({ OUTCALL_RESULT_SUMMARY_WAIT_S: '1.5' }), { code: 'config_invalid' });
});

test('OUTCALL_WEBHOOK_CONCURRENCY and OUTCALL_WEBHOOK_ENDPOINT_CONCURRENCY: 128 and 16 by default, bounded', () => {
  assert.deepEqual(loadConfig({}).webhooks, { concurrency: 128, perEndpoint: 16 });
  assert.deepEqual(loadConfig({ OUTCALL_WEBHOOK_CONCURRENCY: '512', OUTCALL_WEBHOOK_ENDPOINT_CONCURRENCY: '4' }).webhooks, { concurrency: 512, perEndpoint: 4 });
  assert.throws(() => loadConfig({ OUTCALL_WEBHOOK_CONCURRENCY: '0' }), { code: 'config_invalid' });
  assert.throws(() => loadConfig({ OUTCALL_WEBHOOK_ENDPOINT_CONCURRENCY: '1025' }), { code: 'config_invalid' });
});

test('OUTCALL_DRAIN_S: how long live calls may go on after SIGTERM, 30 s by default, 0-3600', () => {
  assert.equal(loadConfig({}).drainMs, 30_000);
  assert.equal(loadConfig({ OUTCALL_DRAIN_S: '0' }).drainMs, 0);
  assert.equal(loadConfig({ OUTCALL_DRAIN_S: '600' }).drainMs, 600_000);
  assert.throws(() => loadConfig({ OUTCALL_DRAIN_S: '3601' }), { code: 'config_invalid' });
  assert.throws(() => loadConfig({ OUTCALL_DRAIN_S: '-1' }), { code: 'config_invalid' });
});
