/**
 * The CLI's view of a running Outcall API: where it is and which key to use (flags first, then
 * environment), and JSON requests that turn the API's error envelope into a readable message.
 */
export interface ApiTarget {
  baseUrl: string;
  apiKey: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function apiTarget(flags: { url?: string | undefined; key?: string | undefined }, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const baseUrl = (flags.url ?? env.OUTCALL_URL ?? `http://127.0.0.1:${env.OUTCALL_PORT || '8080'}`).replace(/\/+$/, '');
  const apiKey = flags.key ?? env.OUTCALL_API_KEY;
  if (!apiKey) {
    throw new CliError('no API key: pass --key or set OUTCALL_API_KEY (outcall serve prints one on first start; `outcall keys create` makes more)', 2);
  }
  return { baseUrl, apiKey };
}

export async function api<T = any>( // eslint-disable-line @typescript-eslint/no-explicit-any
  target: ApiTarget,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${target.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.apiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new CliError(`cannot reach the Outcall API at ${target.baseUrl} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); is \`outcall serve\` running? (--url / OUTCALL_URL)`);
  }
  const text = await res.text();
  const parsed = text ? safeJson(text) : undefined;
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string; param?: string | null } } | undefined)?.error;
    const where = e?.param ? ` (${e.param})` : '';
    throw new CliError(e ? `${e.message}${where} [${e.code}]` : `HTTP ${res.status} from ${method} ${path}`);
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
