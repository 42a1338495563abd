/**
 * Outcall's TypeScript SDK: the typed API client (generated types + openapi-fetch), a live call
 * watcher, and the webhook signature check for your receiver.
 */
export { createOutcallClient, watchCall, OutcallApiError, type OutcallClient, type OutcallClientOptions, type CallStreamEvent } from './client.js';
export type { paths, components } from './schema.js';
export { verifyWebhook, WebhookVerificationError } from '../http-client/signing.js';
export { readServerSentEvents, type ServerSentEvent } from './sse.js';
