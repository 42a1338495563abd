/**
 * The one catalog of error codes. Every error a client or operator can see has a stable code here,
 * mapped to one HTTP status, and reaches clients in one envelope:
 *   {"error": {"code": "...", "message": "...", "param": "..." | null}}
 * Codes are part of the API: never rename one; add new ones.
 */
export const ERROR_CATALOG = {
  // 400: the request is malformed or breaks a rule of the API.
  invalid_json: { status: 400, summary: 'The body is not valid JSON.' },
  invalid_request: { status: 400, summary: 'A field has the wrong type, format or range.' },
  missing_field: { status: 400, summary: 'A required field is missing.' },
  unknown_field: { status: 400, summary: 'The body has a field the API does not know (often a typo).' },
  invalid_phone_number: { status: 400, summary: 'A phone number is not in E.164 form (+ country code and digits).' },
  invalid_destination: { status: 400, summary: 'The destination is neither an E.164 number nor a sip: URI.' },
  invalid_url: { status: 400, summary: 'A URL is not an absolute http(s) URL.' },
  private_url_not_allowed: { status: 400, summary: 'A URL points to a private, loopback or link-local address.' },
  invalid_cursor: { status: 400, summary: 'The pagination cursor is not one this API issued.' },
  invalid_flow: { status: 400, summary: "The agent's scripted flow is not valid; the message lists every problem." },
  agent_cannot_place_calls: { status: 400, summary: 'Only voice agents place phone calls.' },
  unsupported_media_type: { status: 415, summary: 'The body must be application/json.' },
  // 401
  unauthorized: { status: 401, summary: 'The API key is missing, malformed or revoked.' },
  // 404
  not_found: { status: 404, summary: 'No such route.' },
  agent_not_found: { status: 404, summary: 'No agent with that id in this organization.' },
  trunk_not_found: { status: 404, summary: 'No trunk with that id in this organization.' },
  phone_number_not_found: { status: 404, summary: 'No phone number with that id or number in this organization.' },
  call_not_found: { status: 404, summary: 'No call with that id in this organization.' },
  transcript_not_found: { status: 404, summary: 'No transcript with that id in this organization.' },
  recording_not_found: { status: 404, summary: 'The call has no recording (record was off, it was not answered, or it has not ended yet).' },
  delivery_not_found: { status: 404, summary: 'No webhook delivery with that id in this organization.' },
  api_key_not_found: { status: 404, summary: 'No API key with that id in this organization.' },
  // 409
  idempotency_key_reused: { status: 409, summary: 'The Idempotency-Key was used with a different request body.' },
  call_id_conflict: { status: 409, summary: 'A call with that call_id already exists.' },
  phone_number_exists: { status: 409, summary: 'That number is already registered in this organization.' },
  phone_number_answered_elsewhere: { status: 409, summary: 'Another organization answers calls to this number (inbound_agent_id); one organization answers a number.' },
  trunk_in_use: { status: 409, summary: 'Phone numbers still use this trunk.' },
  call_not_cancelable: { status: 409, summary: 'The call has already ended.' },
  last_api_key: { status: 409, summary: "The organization's last active API key cannot be revoked." },
  illegal_transition: { status: 409, summary: 'The call cannot move from its status to the one asked.' },
  // 413
  payload_too_large: { status: 413, summary: 'The request body is larger than the limit.' },
  metadata_too_large: { status: 413, summary: 'metadata is larger than 16 KB once serialized.' },
  // 414
  uri_too_long: { status: 414, summary: 'A path parameter is longer than any id the API issues.' },
  // 416
  range_not_satisfiable: { status: 416, summary: 'The Range asks for bytes past the end of the file.' },
  // 422
  no_from_number: { status: 422, summary: 'No from number was given and no number has this agent as its outbound agent.' },
  missing_dynamic_variable: { status: 422, summary: 'The prompt or greeting uses a {{variable}} that dynamic_variables does not give.' },
  unsupported_provider: {
    status: 422,
    summary: 'An stt, tts, llm or conversation.vad provider (or a flite voice) is not one this server runs; the message lists the supported ones.',
  },
  setting_not_applicable: {
    status: 422,
    summary: 'A setting does not apply where it was given (a provider that would ignore it, or a kind of agent that cannot honour it); the message says why and what applies.',
  },
  open_vocabulary_stt_required: {
    status: 422,
    summary:
      "A language-model agent needs a recognizer that hears any words, and this server's only one hears a grammar (soundswallower): install pocketsphinx or set the agent's stt to a cloud recognizer.",
  },
  secret_key_missing: { status: 422, summary: 'Storing a secret needs OUTCALL_SECRET_KEY to be set.' },
  invalid_tls_ca: { status: 422, summary: "A trunk's tls_ca_pem is not a bundle of PEM certificates (or holds something else, such as a key)." },
  registration_not_possible: {
    status: 422,
    summary: 'A trunk registers only with a username (the user of the address registered) and over udp or tcp; the message says which is missing.',
  },
  trunk_mismatch: { status: 422, summary: "The call's trunk_id is not the trunk of its from number." },
  sips_requires_tls: { status: 422, summary: 'A sips: destination needs TLS on every hop: call it over a trunk whose transport is tls.' },
  conflicting_fields: { status: 422, summary: 'Two fields of the request cannot be used together; param names the one to change.' },
  // 429
  rate_limited: { status: 429, summary: 'Over a calls-per-second or concurrency limit; retry after Retry-After seconds.' },
  // 500/503
  internal_error: { status: 500, summary: 'An unexpected error; it has been logged.' },
  unavailable: { status: 503, summary: 'The store is unreachable.' },
  storage_full: { status: 507, summary: "The store's disk is full; nothing was written (the operator must free space)." },
  // A tool the voice agent called failed: reported to the agent's brain (flow on_failure, the model's
  // tool result) and in the transcript as {error, code}, never sent over HTTP.
  tool_unknown: { status: 400, summary: 'The agent called a tool it does not have.' },
  tool_bad_arguments: { status: 400, summary: 'The tool arguments are not what the tool takes.' },
  tool_url_refused: { status: 400, summary: "The http tool's URL is invalid or resolves to a private address." },
  tool_timeout: { status: 504, summary: 'The http tool did not answer within its timeout_ms.' },
  tool_http_error: { status: 502, summary: 'The http tool could not be reached, or answered with a non-2xx status.' },
  tool_response_too_large: { status: 502, summary: "The http tool's answer is larger than the limit." },
  tool_unavailable: { status: 409, summary: 'The call cannot do this now (not answered, ended, or the leg lacks the feature).' },
  transfer_failed: { status: 502, summary: "The callee's side refused the REFER, or reported that the transfer failed." },
  // Operator errors (start-up), never sent over HTTP.
  data_dir_locked: { status: 500, summary: 'Another process holds the embedded data folder.' },
  config_invalid: { status: 500, summary: 'An environment variable has an invalid value.' },
  sandbox_persona_invalid: { status: 500, summary: 'A sandbox persona file is not valid; the message names the file and the field.' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export class OutcallError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'OutcallError';
    this.status = ERROR_CATALOG[code].status;
  }

  toEnvelope(): { error: { code: ErrorCode; message: string; param: string | null } } {
    return { error: { code: this.code, message: this.message, param: this.param } };
  }
}
