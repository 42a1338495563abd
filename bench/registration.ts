// Command: node --import tsx bench/registration.ts [--trunks 1000] [--cycles 2]
//          (OUTCALL_TEST_DRIVER=postgres for PostgreSQL at 127.0.0.1:5432; PGlite otherwise)
//
// Trunk registrations at scale, through the whole stack: N trunks with `register` (created through
// the API, each its own user, registration_expires_s 60, the shortest allowed), one call plane
// (the registration keeper's leases in the store, one media thread's user agent), and kamailio as
// the carrier's registrar (digest SHA-256 on every REGISTER, usrloc in memory, 4 UDP children).
// Measured:
// - start -> all N registered (the first pass claims them all; each REGISTER is challenged once);
// - the refresh cycles that follow (a 60 s binding is refreshed at 30 s): REGISTERs the registrar
//   saved per cycle, trunks that were ever failed, and this process's CPU (every thread: control
//   side, store, media thread) per refresh;
// - one keeper pass over N held leases (claim + renew + the "still mine" read), p50 of 10.
import { startKamailioConfig } from '../test/helpers/kamailio.js';
import { registrarConfig } from '../test/helpers/kamailio-registrar.js';
import { freeUdpPort } from '../test/helpers/sipp.js';
import { startTestApp } from '../test/helpers/test-app.js';
import { startTestCallPlane } from '../test/helpers/test-call-plane.js';
import { sql } from '../src/store/sql.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const TRUNKS = arg('trunks', 1000);
const CYCLES = arg('cycles', 2);
const PASSWORD = 'bench-reg-pw';
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

const t = await startTestApp({ allowPrivateUrls: true });
const port = await freeUdpPort();
const registrar = await startKamailioConfig(registrarConfig({ port, password: PASSWORD, callsTo: 'nobody', children: 4 }), port);
const saved = () => (registrar.log().match(/REGISTER saved/g) ?? []).length;

const ids: string[] = [];
for (let i = 0; i < TRUNKS; i += 50) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(50, TRUNKS - i) }, (_, k) =>
      t.org.req('POST', '/v1/trunks', { name: `reg-${i + k}`, host: '127.0.0.1', port, username: `acct${i + k}`, password: PASSWORD, register: true, registration_expires_s: 60 }),
    ),
  );
  for (const r of batch) {
    if (r.status !== 201) throw new Error(r.raw);
    ids.push(r.body.id as string);
  }
}

const count = async (state: string): Promise<number> =>
  Number((await t.db.query<{ n: number }>(sql`select count(*)::int as n from trunk_registrations where state = ${state}`)).rows[0]?.n ?? 0);
let everFailed = 0;

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const plane = await startTestCallPlane(t.ctx, { rtpPortMin: 48600, rtpPortMax: 48698 });
let allAt: number | undefined;
while (performance.now() - t0 < 60_000) {
  everFailed = Math.max(everFailed, await count('failed'));
  if ((await count('registered')) === TRUNKS) {
    allAt = performance.now() - t0;
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
const cpuInitial = process.cpuUsage(cpu0);
console.log(`trunks ${TRUNKS}, driver ${process.env.OUTCALL_TEST_DRIVER ?? 'pglite'}`);
console.log(`start -> all registered: ${allAt === undefined ? `not within 60 s (${await count('registered')} registered)` : `${allAt.toFixed(0)} ms`}; CPU ${((cpuInitial.user + cpuInitial.system) / 1000).toFixed(0)} ms`);

// Refresh cycles: each binding is refreshed at 30 s.
const savedBefore = saved();
const cpu1 = process.cpuUsage();
const wall1 = performance.now();
const end = wall1 + CYCLES * 30_000;
while (performance.now() < end) {
  everFailed = Math.max(everFailed, await count('failed'));
  await new Promise((r) => setTimeout(r, 1000));
}
const cpuCycles = process.cpuUsage(cpu1);
const refreshes = saved() - savedBefore;
const cpuMs = (cpuCycles.user + cpuCycles.system) / 1000;
console.log(
  `${CYCLES} refresh cycles (${((performance.now() - wall1) / 1000).toFixed(0)} s): ${refreshes} REGISTERs saved (${(refreshes / CYCLES).toFixed(0)}/cycle for ${TRUNKS} trunks), registered at the end ${await count('registered')}, ever failed ${everFailed}`,
);
console.log(`CPU over the cycles: ${cpuMs.toFixed(0)} ms (${(cpuMs / Math.max(1, refreshes)).toFixed(2)} ms per refresh incl. keeper passes every 5 s; ${((cpuMs / ((performance.now() - wall1) / 1000)) / 10).toFixed(1)} % of a core)`);

const passes: number[] = [];
for (let i = 0; i < 10; i++) {
  const s = performance.now();
  await plane.registrations.kick();
  passes.push(performance.now() - s);
}
console.log(`keeper pass over ${plane.registrations.held.length} held leases: p50 ${pct(passes, 50).toFixed(1)} ms, max ${Math.max(...passes).toFixed(1)} ms`);

await plane.stop();
const left = Number((await t.db.query<{ n: number }>(sql`select count(*)::int as n from trunk_registrations where worker_id is not null`)).rows[0]?.n ?? 0);
console.log(`after stop: leases held ${left}, unregistrations the registrar saw ${(registrar.log().match(/expires 0\n/g) ?? []).length}`);
await registrar.stop();
await t.close();
