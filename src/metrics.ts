import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from './store/db.js';
import { sql } from './store/sql.js';

/** Prometheus metrics of one app instance (its own registry, so tests can build many). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'outcall_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly callsCreated = new Counter({
    name: 'outcall_calls_created_total',
    help: 'Outbound calls accepted by the API',
    registers: [this.registry],
  });
  readonly callTransitions = new Counter({
    name: 'outcall_call_transitions_total',
    help: 'Call status transitions by target status',
    labelNames: ['to'] as const,
    registers: [this.registry],
  });

  readonly inboundRefused = new Counter({
    name: 'outcall_inbound_refused_total',
    help: 'Inbound INVITEs refused, by SIP status and where (router: after a look at the numbers; edge: a blocked source, at once)',
    labelNames: ['status', 'where'] as const,
    registers: [this.registry],
  });

  constructor(db?: Database) {
    collectDefaultMetrics({ register: this.registry, prefix: 'outcall_' });
    if (db) {
      const registry = this.registry;
      new Gauge({
        name: 'outcall_calls',
        help: 'Calls in the store by status (all organizations)',
        labelNames: ['status'] as const,
        registers: [registry],
        async collect() {
          const r = await db.query<{ status: string; n: number }>(sql`select status, count(*)::int as n from calls group by status`);
          this.reset();
          for (const row of r.rows) this.set({ status: row.status }, Number(row.n));
        },
      });
    }
  }
}
