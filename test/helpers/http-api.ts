/**
 * The API of an Outcall process started by a test (outcall serve / api), over real HTTP with an API key.
 * `context`: what to add to the error when the request cannot be made at all (the server's output).
 */
export function httpApi(base: string, apiKey: string, context?: () => string) {
  return async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    }).catch((err: Error) => {
      throw new Error(`${method} ${path}: ${err.message} (${String(err.cause)})${context ? `\n${context()}` : ''}`);
    });
    return { status: r.status, body: (await r.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
}
