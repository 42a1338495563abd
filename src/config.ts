import { OutcallError } from './errors.js';

/** Every environment variable Outcall reads (the README's configuration table mirrors this). */
export interface Config {
  dataDir: string;
  databaseUrl: string | undefined;
  dbPoolSize: number;
  apiKey: string | undefined;
  secretKey: string | undefined;
  host: string;
  port: number;
  logLevel: string;
  allowPrivateUrls: boolean;
  bodyLimit: number;
  /** How long an answered call's result webhook waits for the LLM's summary (OUTCALL_RESULT_SUMMARY_WAIT_S). */
  resultSummaryWaitMs: number;
  /** Webhook attempts in flight at once in this process (OUTCALL_WEBHOOK_CONCURRENCY), and to one callback URL across all processes (OUTCALL_WEBHOOK_ENDPOINT_CONCURRENCY). */
  webhooks: { concurrency: number; perEndpoint: number };
  /** On SIGTERM/SIGINT, how long live calls may go on before they are ended worker_shutdown (OUTCALL_DRAIN_S). */
  drainMs: number;
  media: MediaConfig;
}

/** Where the SIP user agent and RTP legs of this process listen (see the README's table). */
export interface MediaConfig {
  sipHost: string;
  sipPort: number;
  /** Written in Via/Contact/SDP: the address the trunk can reach us on. */
  advertiseHost: string | undefined;
  rtpHost: string;
  rtpPortMin: number;
  rtpPortMax: number;
  ttsVoice: string;
  /** How long a worker's claim on a call lasts without a heartbeat; a dead worker's calls end after it. */
  leaseMs: number;
  /** Longest the dispatcher sleeps when no NOTIFY wakes it. */
  dispatchPollMs: number;
  /** Media worker threads in this process (each with its own SIP port and RTP port slice). */
  threads: number;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new OutcallError('config_invalid', `${name}=${raw} must be an integer from ${min} to ${max}`);
  }
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false' || raw === 'no') return false;
  if (raw === '1' || raw === 'true' || raw === 'yes') return true;
  throw new OutcallError('config_invalid', `${name}=${env[name]} must be true or false`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = env.OUTCALL_LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new OutcallError('config_invalid', `OUTCALL_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new OutcallError('config_invalid', 'DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  return {
    dataDir: env.OUTCALL_DATA_DIR || './data',
    databaseUrl,
    dbPoolSize: int(env, 'OUTCALL_DB_POOL_SIZE', 10, 1, 500),
    apiKey: env.OUTCALL_API_KEY || undefined,
    secretKey: env.OUTCALL_SECRET_KEY || undefined,
    host: env.OUTCALL_HOST || '127.0.0.1',
    port: int(env, 'OUTCALL_PORT', 8080, 0, 65535),
    logLevel,
    allowPrivateUrls: bool(env, 'OUTCALL_ALLOW_PRIVATE_URLS'),
    bodyLimit: int(env, 'OUTCALL_BODY_LIMIT', 256 * 1024, 1024, 64 * 1024 * 1024),
    resultSummaryWaitMs: int(env, 'OUTCALL_RESULT_SUMMARY_WAIT_S', 15, 0, 300) * 1000,
    drainMs: int(env, 'OUTCALL_DRAIN_S', 30, 0, 3600) * 1000,
    webhooks: {
      concurrency: int(env, 'OUTCALL_WEBHOOK_CONCURRENCY', 128, 1, 4096),
      perEndpoint: int(env, 'OUTCALL_WEBHOOK_ENDPOINT_CONCURRENCY', 16, 1, 1024),
    },
    media: loadMediaConfig(env),
  };
}

function loadMediaConfig(env: NodeJS.ProcessEnv): MediaConfig {
  const sipHost = env.OUTCALL_SIP_HOST || '127.0.0.1';
  const advertiseHost = env.OUTCALL_SIP_ADVERTISE || undefined;
  if ((sipHost === '0.0.0.0' || sipHost === '::') && advertiseHost === undefined) {
    throw new OutcallError('config_invalid', `OUTCALL_SIP_HOST=${sipHost} listens on every interface: set OUTCALL_SIP_ADVERTISE to the address trunks reach this host on`);
  }
  const rtpPortMin = int(env, 'OUTCALL_RTP_PORT_MIN', 10000, 1024, 65534);
  const rtpPortMax = int(env, 'OUTCALL_RTP_PORT_MAX', 20000, 1025, 65535);
  if (rtpPortMax <= rtpPortMin + 2) throw new OutcallError('config_invalid', 'OUTCALL_RTP_PORT_MAX must be above OUTCALL_RTP_PORT_MIN');
  return {
    sipHost,
    sipPort: int(env, 'OUTCALL_SIP_PORT', 5060, 0, 65535),
    advertiseHost,
    rtpHost: env.OUTCALL_RTP_HOST || sipHost,
    rtpPortMin,
    rtpPortMax,
    ttsVoice: env.OUTCALL_TTS_VOICE || 'en-us',
    leaseMs: int(env, 'OUTCALL_LEASE_MS', 30_000, 1000, 600_000),
    dispatchPollMs: int(env, 'OUTCALL_DISPATCH_POLL_MS', 1000, 10, 60_000),
    threads: int(env, 'OUTCALL_MEDIA_THREADS', 1, 1, 64),
  };
}
