-- Call recordings (WAV), stored in the database so that every API node can serve what any worker
-- process recorded, on PGlite and PostgreSQL alike. One recording per call.
create table recordings (
  org_id       text not null references organizations(id),
  call_id      text not null,
  format       text not null check (format in ('wav')),
  channels     text not null check (channels in ('mono','dual')),
  sample_rate  integer not null,
  duration_ms  integer not null,
  bytes        bytea not null,
  created_at   timestamptz not null default now(),
  primary key (org_id, call_id),
  foreign key (org_id, call_id) references calls(org_id, id)
);

-- What the call object shows of its recording ({duration_ms, channels, sample_rate}), written in the
-- same transaction as the recordings row, so reading a call never needs the audio table.
alter table calls add column recording jsonb;
-- Timings of an answered call: answer -> greeting, per-turn latencies and their aggregates.
alter table calls add column metrics jsonb;
-- Post-call analysis (summary). analysis_due_at is set at the terminal transition of a call with a
-- transcript; it doubles as the lease of whoever is analyzing (pushed forward when claimed), so a
-- process that dies mid-analysis leaves the call to be picked up again by a sweep. It is cleared,
-- and analyzed_at set, in the transaction that writes the summary and the `analyzed` event.
alter table calls add column summary_source text check (summary_source in ('llm','extractive'));
alter table calls add column analysis_due_at timestamptz;
alter table calls add column analyzed_at timestamptz;
create index calls_analysis_due on calls(analysis_due_at) where analysis_due_at is not null;
