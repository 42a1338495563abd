-- Dispatcher: which worker holds a call and until when (lease, renewed by heartbeat).
alter table calls add column worker_id text;
alter table calls add column lease_expires_at timestamptz;
-- Set when the INVITE is about to be sent: from then on the platform never dials this call again.
alter table calls add column dial_started_at timestamptz;
create index calls_active_by_worker on calls(worker_id) where status in ('dispatching','dialing','in_progress');
create index calls_active_lease on calls(lease_expires_at) where status in ('dispatching','dialing','in_progress');
create index calls_active_trunk on calls(trunk_id) where status in ('dispatching','dialing','in_progress');
create index calls_active_agent on calls(org_id, agent_id) where status in ('dispatching','dialing','in_progress');

-- Calls-per-second limits shared by every dispatcher: the earliest time the next call may start.
create table rate_buckets (
  key           text primary key,      -- 'agent:<org>:<id>' or 'trunk:<org>:<id>'
  next_allowed  timestamptz not null
);

-- Workers announce themselves; a worker whose heartbeat stops is dead and its calls are failed.
create table workers (
  id              text primary key,
  kind            text not null,
  started_at      timestamptz not null default now(),
  heartbeat_at    timestamptz not null default now()
);

-- Per-organization settings the dispatcher and webhooks need.
alter table organizations add column max_concurrent_calls integer;

-- Webhook signing secrets (Standard Webhooks whsec_), encrypted; several are valid during rotation.
create table webhook_secrets (
  id          text primary key,
  org_id      text not null references organizations(id),
  secret_enc  text not null,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz
);
create index webhook_secrets_org on webhook_secrets(org_id, created_at desc);

-- The transactional outbox: an event is written in the same transaction as the change it reports.
-- Its id is the webhook-id receivers de-duplicate on. The body is stored as the exact JSON text to
-- send (not jsonb, which would reorder the client's metadata keys), so every retry sends the same bytes.
create table webhook_events (
  id          text primary key,
  org_id      text not null references organizations(id),
  call_id     text,
  type        text not null,
  body        text not null,
  created_at  timestamptz not null default now()
);
create index webhook_events_call on webhook_events(org_id, call_id);

-- One row per event and destination: delivered until a 2xx, retried with backoff for 24 h+.
create table webhook_deliveries (
  id                text primary key,
  org_id            text not null references organizations(id),
  event_id          text not null references webhook_events(id),
  url               text not null,
  method            text not null check (method in ('POST','GET')),
  status            text not null check (status in ('pending','delivering','delivered','failed')),
  attempts          integer not null default 0,
  next_attempt_at   timestamptz not null,
  locked_until      timestamptz,
  last_attempt_at   timestamptz,
  last_status_code  integer,
  last_error        text,
  delivered_at      timestamptz,
  created_at        timestamptz not null default now()
);
create index webhook_deliveries_due on webhook_deliveries(next_attempt_at) where status in ('pending','delivering');
create index webhook_deliveries_org on webhook_deliveries(org_id, created_at desc, id desc);
create index webhook_deliveries_event on webhook_deliveries(event_id);
