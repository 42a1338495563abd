-- The dispatcher looks up each agent's oldest due queued call (claim.ts): one index probe per agent
-- instead of scanning every queued call of the table.
create index calls_queued_agent_due on calls(org_id, agent_id, scheduled_at, created_at, id) where status = 'queued';
