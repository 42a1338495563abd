import { Type, type Static } from 'typebox';
import type { AppContext } from '../../app-context.js';
import { cancelCall, getCall, getTranscript, listAgentCalls, listCallEvents, listCalls } from '../../calls/call-queries.js';
import { createOutboundCall } from '../../calls/create-call.js';
import type { App } from '../app-type.js';
import { Call, CallEvent, CallListQuery, OrgCallListQuery, OutboundCallCreate, Transcript } from '../../contract/call.js';
import { listOf } from '../../contract/common.js';
import { callRecordingRoute } from './call-recording.js';
import { rawBodyOf } from '../raw-body.js';

import { security } from '../../contract/common.js';
const AgentParams = Type.Object({ agentId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const AgentCallParams = Type.Object(
  { agentId: Type.String({ minLength: 1, maxLength: 64 }), callId: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
const CallParams = Type.Object({ callId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: 'same key + same body within 24 h returns the same call' }),
  ),
});

export function callRoutes(app: App, ctx: AppContext): void {
  app.post(
    '/v1/agents/:agentId/outbound-calls',
    {
      schema: {
        tags: ['calls'],
        security,
        summary: 'Place an outbound call (answers 202 at once; the call is queued)',
        params: AgentParams,
        headers: IdempotencyHeaders,
        body: OutboundCallCreate,
        response: { 202: Call },
      },
    },
    async (req, reply) => {
      const { agentId } = req.params as Static<typeof AgentParams>;
      const key = (req.headers as Static<typeof IdempotencyHeaders>)['idempotency-key'];
      const result = await createOutboundCall(ctx, req.orgId, agentId, req.body as Static<typeof OutboundCallCreate>, key, rawBodyOf(req));
      if (!result.replayed) ctx.metrics.callsCreated.inc();
      if (result.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(result.call);
    },
  );
  app.get(
    '/v1/agents/:agentId/outbound-calls',
    {
      schema: {
        tags: ['calls'],
        security,
        summary: "List an agent's calls, newest first",
        params: AgentParams,
        querystring: CallListQuery,
        response: { 200: listOf(Call) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof CallListQuery>;
      const { agentId } = req.params as Static<typeof AgentParams>;
      return listAgentCalls(ctx, req.orgId, agentId, { limit: q.limit ?? 50, ...(q.status ? { status: q.status } : {}), ...(q.cursor ? { cursor: q.cursor } : {}) });
    },
  );
  app.get(
    '/v1/agents/:agentId/outbound-calls/:callId',
    { schema: { tags: ['calls'], security, summary: 'Get a call', params: AgentCallParams, response: { 200: Call } } },
    async (req) => {
      const p = req.params as Static<typeof AgentCallParams>;
      return getCall(ctx, req.orgId, p.callId, p.agentId);
    },
  );
  app.post(
    '/v1/agents/:agentId/outbound-calls/:callId/cancel',
    {
      schema: {
        tags: ['calls'],
        security,
        summary: 'Cancel a call in any status before it ends (CANCEL before answer, BYE after)',
        params: AgentCallParams,
        response: { 202: Call },
      },
    },
    async (req, reply) => {
      const p = req.params as Static<typeof AgentCallParams>;
      return reply.code(202).send(await cancelCall(ctx, req.orgId, p.callId, p.agentId));
    },
  );
  app.get(
    '/v1/calls',
    {
      schema: {
        tags: ['calls'],
        security,
        summary: "The organisation's calls, newest first, filtered by status, agent, destination or creation time",
        querystring: OrgCallListQuery,
        response: { 200: listOf(Call) },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof OrgCallListQuery>;
      return listCalls(ctx, req.orgId, { ...q, limit: q.limit ?? 50 });
    },
  );
  app.get(
    '/v1/calls/:callId',
    { schema: { tags: ['calls'], security, summary: 'Get a call by id', params: CallParams, response: { 200: Call } } },
    async (req) => getCall(ctx, req.orgId, (req.params as Static<typeof CallParams>).callId),
  );
  app.get(
    '/v1/calls/:callId/events',
    {
      schema: {
        tags: ['calls'],
        security,
        summary: "A call's status transitions, oldest first, each with its time",
        params: CallParams,
        response: { 200: Type.Object({ data: Type.Array(CallEvent) }) },
      },
    },
    async (req) => listCallEvents(ctx, req.orgId, (req.params as Static<typeof CallParams>).callId),
  );
  callRecordingRoute(app, ctx);
  app.get(
    '/v1/transcripts/:id',
    {
      schema: {
        tags: ['calls'],
        security,
        summary: 'Get a transcript',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
        response: { 200: Transcript },
      },
    },
    async (req) => getTranscript(ctx, req.orgId, (req.params as { id: string }).id),
  );
}

