-- Inbound calls (issue 16). A phone number may name the agent that answers calls to it; an inbound
-- call starts `ringing` (the INVITE is in, not yet answered) instead of queued/dispatching/dialing,
-- and counts as an active call there like dialing does (concurrency, leases, the reaper).
alter table phone_numbers add column inbound_agent_id text references agents(id);
-- Asked, signed, for each inbound call's variables (or another agent) before it is answered.
alter table phone_numbers add column inbound_webhook_url text;
alter table phone_numbers add column inbound_webhook_timeout_ms integer;
-- Addresses and CIDR ranges a trunk's inbound calls may come from, besides its host (a JSON array).
alter table trunks add column inbound_addresses jsonb not null default '[]';
create index phone_numbers_inbound on phone_numbers(number) where deleted_at is null and inbound_agent_id is not null;
alter table calls drop constraint calls_status_check;
alter table calls add constraint calls_status_check check (status in
  ('queued','dispatching','dialing','ringing','in_progress','completed','no_answer','busy','failed','canceled'));
drop index calls_active_by_worker;
drop index calls_active_lease;
drop index calls_active_trunk;
drop index calls_active_agent;
create index calls_active_by_worker on calls(worker_id) where status in ('dispatching','dialing','ringing','in_progress');
create index calls_active_lease on calls(lease_expires_at) where status in ('dispatching','dialing','ringing','in_progress');
create index calls_active_trunk on calls(trunk_id) where status in ('dispatching','dialing','ringing','in_progress');
create index calls_active_agent on calls(org_id, agent_id) where status in ('dispatching','dialing','ringing','in_progress');
