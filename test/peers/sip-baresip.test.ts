/**
 * Our UAC against baresip 1.0.0 (a complete SIP user agent on libre) as an auto-answering callee: proves
 * interop with a second, independent SIP stack (dialog tags, Contact, ACK, BYE), not only SIPp scripts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserAgent } from '../../src/telephony/sip/user-agent.js';
import { freePort, havePeer, waitForListen } from '../helpers/sipp.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/sipp/', import.meta.url));
const skip = havePeer('baresip') ? false : 'baresip not installed';

/** 1 s of 8 kHz 16-bit mono silence: baresip's aufile source needs a WAV to play. */
function silentWav(): Buffer {
  const samples = 8000;
  const b = Buffer.alloc(44 + samples * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + samples * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(samples * 2, 40);
  return b;
}

describe('baresip callee', { skip }, () => {
  let dir = '';
  let port = 0;
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let ua: UserAgent | undefined;
  let log = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outcall-baresip-'));
    mkdirSync(join(dir, 'rec'));
    writeFileSync(join(dir, 'prompt_s16_8k.wav'), silentWav());
    port = await freePort();
    const rtpBase = 20000 + (port % 20000);
    const config = readFileSync(join(FIXTURES, 'baresip.config'), 'utf8')
      .replaceAll('BARESIP_DIR', dir)
      .replace(/sip_listen\s+\S+/, `sip_listen\t\t127.0.0.1:${port}`)
      .replace(/rtp_ports\s+\S+/, `rtp_ports\t\t${rtpBase}-${rtpBase + 100}`);
    writeFileSync(join(dir, 'config'), config);
    writeFileSync(join(dir, 'accounts'), readFileSync(join(FIXTURES, 'baresip.accounts'), 'utf8'));
    child = spawn('baresip', ['-f', dir, '-t', '60'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const c = child;
    exited = new Promise((resolve) => c.once('exit', resolve));
    await waitForListen(port, 'udp');
    ua = await UserAgent.listen({ udp: { host: '127.0.0.1', port: 0 } });
  });

  after(async () => {
    await ua?.close();
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child?.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('auto-answer with SDP, then our BYE', async () => {
    assert.ok(ua);
    const sdp = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port + 2} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
    const call = ua.dial({ to: `sip:bob@127.0.0.1:${port}`, from: 'sip:alice@127.0.0.1', trunk: { host: '127.0.0.1', port }, sdpOffer: sdp, ringTimeoutMs: 10_000 });
    const answered = await call.waitFor('answered');
    assert.match(answered.remoteSdp, /m=audio \d+ RTP\/AVP 0/, `baresip answered PCMU; log:\n${log.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 300));
    const ended = await call.hangup();
    assert.deepEqual({ outcome: ended.outcome, by: ended.by }, { outcome: 'completed', by: 'local' });
    assert.match(ended.reason, /BYE answered 200/);
    assert.equal(ua.stats().activeCalls, 0);
  });
});
