/** The dispatcher's public surface. */
export { claimCalls, type ClaimOptions, type ClaimResult } from './claim.js';
export { beginDial, DEFAULT_DIAL_LEASE_MS, type BeginDialOptions } from './dial-guard.js';
export { Dispatcher, type DispatcherOptions } from './dispatcher.js';
export { deregisterWorker, failUndialed, heartbeat, pruneWorkers, reapExpiredLeases, registerWorker, type ReapResult } from './leases.js';
export { assertCanStartNow, checkAdmissionNow, readCallLimits, type Admission, type CallLimits } from '../calls/limits.js';
export { consoleLogger, type ClaimedCall, type Dialer, type DispatchLogger } from './types.js';
