// RTP echo peer for bench/rtp-pacing.ts (runs as its own process so echoing does not share the
// measured event loop). Binds SOCKETS UDP sockets on 127.0.0.1 and sends every datagram back to its
// source (or, with `sink` as second argument, only counts them). Prints the bound ports as one JSON
// line on stdout, then runs until stdin closes.
import { createSocket, type Socket } from 'node:dgram';

const count = Number(process.argv[2] ?? 4);
const sink = process.argv[3] === 'sink';
const sockets: Socket[] = [];
let echoed = 0;

async function main(): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const s = createSocket('udp4');
    s.on('message', (msg, rinfo) => {
      echoed++;
      if (!sink) s.send(msg, rinfo.port, rinfo.address);
    });
    s.on('error', (err) => process.stderr.write(`echo socket error: ${String(err)}\n`));
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    s.setRecvBufferSize(4 << 20);
    s.setSendBufferSize(4 << 20);
    ports.push(s.address().port);
    sockets.push(s);
  }
  process.stdout.write(`${JSON.stringify({ ports })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    process.stderr.write(`echoed ${echoed}\n`);
    for (const s of sockets) s.close();
    process.exit(0);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`rtp-echo failed: ${String(err)}\n`);
  process.exit(1);
});
