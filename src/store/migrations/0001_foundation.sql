-- Organizations own everything; every query is scoped by org_id.
create table organizations (
  id          text primary key,
  name        text not null,
  created_at  timestamptz not null default now()
);

-- API keys are stored as SHA-256 hashes of high-entropy secrets; the prefix helps people tell keys apart.
create table api_keys (
  id          text primary key,
  org_id      text not null references organizations(id),
  key_hash    text not null unique,
  prefix      text not null,
  name        text not null default '',
  created_at  timestamptz not null default now(),
  revoked_at  timestamptz
);
create index api_keys_org on api_keys(org_id);

create table trunks (
  id                    text primary key,
  org_id                text not null references organizations(id),
  name                  text not null,
  host                  text not null,
  port                  integer not null,
  transport             text not null check (transport in ('udp','tcp','tls')),
  username              text,
  password_enc          text,           -- AES-256-GCM, see crypto/secret-box.ts; never returned
  default_caller_id     text,
  max_cps               double precision,
  max_concurrent_calls  integer,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now(),
  deleted_at            timestamptz
);
create index trunks_org on trunks(org_id, created_at) where deleted_at is null;

create table agents (
  id                    text primary key,
  org_id                text not null references organizations(id),
  name                  text not null,
  kind                  text not null check (kind in ('voice','text')),
  system_prompt         text not null default '',
  greeting              text not null default '',
  language              text not null default 'en-US',
  voice                 text,
  stt                   jsonb,
  llm                   jsonb,
  tts                   jsonb,
  provider_secrets_enc  text,           -- provider API keys, encrypted; never returned
  tools                 jsonb not null default '[]',
  webhook_url           text,
  max_cps               double precision not null default 1,
  max_concurrent_calls  integer,
  on_limit              text not null default 'queue' check (on_limit in ('queue','reject')),
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now(),
  deleted_at            timestamptz
);
create index agents_org on agents(org_id, created_at) where deleted_at is null;

create table phone_numbers (
  id                 text primary key,
  org_id             text not null references organizations(id),
  number             text not null,
  trunk_id           text not null references trunks(id),
  outbound_agent_id  text references agents(id),
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  deleted_at         timestamptz
);
create unique index phone_numbers_unique on phone_numbers(org_id, number) where deleted_at is null;
create index phone_numbers_agent on phone_numbers(org_id, outbound_agent_id) where deleted_at is null;

create table calls (
  id                   text not null,
  org_id               text not null references organizations(id),
  agent_id             text not null references agents(id),
  trunk_id             text not null references trunks(id),
  phone_number_id      text not null references phone_numbers(id),
  to_address           text not null,
  from_number          text not null,
  status               text not null check (status in
                         ('queued','dispatching','dialing','in_progress','completed','no_answer','busy','failed','canceled')),
  -- The options exactly as given (validated), echoed on the call object.
  options              jsonb not null,
  -- json, not jsonb: the client's metadata keeps its key order and text as sent.
  metadata             json,
  call_context         text,
  dynamic_variables    jsonb not null default '{}',
  scheduled_at         timestamptz not null,
  created_at           timestamptz not null default now(),
  dispatched_at        timestamptz,
  answered_at          timestamptz,
  ended_at             timestamptz,
  cancel_requested_at  timestamptz,
  sip_status_code      integer,
  end_reason           text,
  summary_text         text,
  transcript_id        text,
  primary key (org_id, id)
);
create index calls_agent_created on calls(org_id, agent_id, created_at desc, id desc);
create index calls_status on calls(org_id, agent_id, status, created_at desc, id desc);
-- The dispatcher's claim scan: queued calls in due order.
create index calls_queued_due on calls(scheduled_at, created_at) where status = 'queued';

-- Every transition, stored in the same transaction as the status it sets.
create table call_events (
  id           bigserial primary key,
  org_id       text not null,
  call_id      text not null,
  from_status  text,
  to_status    text not null,
  terminal     boolean not null,
  at           timestamptz not null,
  data         jsonb not null default '{}',
  foreign key (org_id, call_id) references calls(org_id, id)
);
create index call_events_call on call_events(org_id, call_id, id);
-- A call reaches a terminal status exactly once, even if application code were wrong.
create unique index call_events_one_terminal on call_events(org_id, call_id) where terminal;

create table idempotency_keys (
  org_id        text not null references organizations(id),
  key           text not null,
  request_hash  text not null,
  call_id       text not null,
  created_at    timestamptz not null default now(),
  primary key (org_id, key)
);

create table transcripts (
  id          text primary key,
  org_id      text not null references organizations(id),
  call_id     text not null,
  turns       jsonb not null default '[]',
  created_at  timestamptz not null default now(),
  foreign key (org_id, call_id) references calls(org_id, id)
);
create index transcripts_call on transcripts(org_id, call_id);
