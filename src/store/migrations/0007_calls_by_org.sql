-- GET /v1/calls lists an organisation's calls newest first, across agents.
create index calls_org_created on calls(org_id, created_at desc, id desc);
