import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import type { ClaimedCall, Dialer } from '../../src/dispatch/types.js';
import type { Database } from '../../src/store/db.js';
import { openStore } from '../../src/store/open.js';
import { createOrganization } from '../../src/store/orgs.js';
import { sql } from '../../src/store/sql.js';
import { createScratchDatabase, testDriver } from '../helpers/test-db.js';
import { addAgent, contextFor, queueCalls } from './helpers.js';

const AGENTS = 10;
const PER_AGENT = 50;

test(
  'two dispatcher nodes (own pools, one PostgreSQL database) claim each of 500 calls exactly once [skipped on PGlite: one connection in one process by design, no second node]',
  { skip: testDriver() === 'pglite' ? 'PGlite cannot be shared by two processes or pools' : false },
  async () => {
    const scratch = await createScratchDatabase();
    const dbs: Database[] = [];
    try {
      dbs.push(await openStore({ driver: 'postgres', url: scratch.url, poolSize: 5 }));
      dbs.push(await openStore({ driver: 'postgres', url: scratch.url, poolSize: 5 }));
      const [db1, db2] = dbs as [Database, Database];
      const ctx = contextFor(db1, () => new Date());
      const orgId = await createOrganization(db1, 'multi');
      const ids: string[] = [];
      for (let i = 0; i < AGENTS; i++) {
        const { agentId } = await addAgent(ctx, orgId, { maxCps: 1000 });
        ids.push(...(await queueCalls(ctx, orgId, agentId, PER_AGENT)));
      }
      const byNode = [new Map<string, number>(), new Map<string, number>()];
      let total = 0;
      let allDone: () => void = () => undefined;
      const done = new Promise<void>((r) => (allDone = r));
      const dialerFor = (node: number): Dialer => ({
        async dial(call: ClaimedCall) {
          const m = byNode[node] as Map<string, number>;
          m.set(call.id, (m.get(call.id) ?? 0) + 1);
          if (++total >= ids.length) allDone();
        },
      });
      const nodes = [
        new Dispatcher({ db: db1, workerId: 'node-1', dialer: dialerFor(0), pollIntervalMs: 50, batchSize: 4 }),
        new Dispatcher({ db: db2, workerId: 'node-2', dialer: dialerFor(1), pollIntervalMs: 50, batchSize: 4 }),
      ];
      await Promise.all(nodes.map((n) => n.start()));
      try {
        await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${total} of ${ids.length} dialed in 30 s`)), 30_000))]);
        await new Promise((r) => setTimeout(r, 300)); // room for a wrong second claim to show up
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
      }
      const [m1, m2] = byNode as [Map<string, number>, Map<string, number>];
      for (const id of ids) {
        const n1 = m1.get(id) ?? 0;
        const n2 = m2.get(id) ?? 0;
        assert.equal(n1 + n2, 1, `${id} dialed ${n1} + ${n2} times`);
      }
      assert.equal(total, ids.length, 'no dial beyond the 500 calls');
      assert.ok(m1.size > 0 && m2.size > 0, `both nodes claimed (${m1.size} / ${m2.size}), so they really ran side by side`);
      const ev = await db1.query<{ n: number }>(sql`select count(*)::int as n from call_events where org_id = ${orgId} and to_status = 'dispatching'`);
      assert.equal(ev.rows[0]?.n, ids.length, 'one dispatching event per call');
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
      await scratch.drop();
    }
  },
);
