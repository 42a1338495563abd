-- Registration (issue 16): a trunk with `register` keeps a binding at its registrar so that calls to
-- its numbers reach us behind NAT or on a changing address. One worker at a time holds a trunk's
-- registration (a lease, renewed while it lives); the state it reports is kept beside the lease.
alter table trunks add column register boolean not null default false;
alter table trunks add column registration_expires_s integer not null default 600;
create table trunk_registrations (
  trunk_id text primary key references trunks(id),
  worker_id text,
  lease_expires_at timestamptz,
  state text not null default 'pending' check (state in ('pending','registering','registered','failed','unregistered')),
  expires_at timestamptz,
  last_error text,
  last_success_at timestamptz,
  updated_at timestamptz not null default now()
);
create index trunk_registrations_lease on trunk_registrations(lease_expires_at);
