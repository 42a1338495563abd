-- One organization answers a number (issue 16): an INVITE names only the number, so two organizations
-- answering the same one would leave the worker to guess whose agent takes the call (and a tenant could
-- take another's calls by adding its number). Numbers that more than one organization answered are
-- kept by the one that added its number first; the others stop answering it (their row stays, for
-- outbound calls).
update phone_numbers p set inbound_agent_id = null, updated_at = now()
  where p.deleted_at is null and p.inbound_agent_id is not null
    and exists (select 1 from phone_numbers q
      where q.number = p.number and q.deleted_at is null and q.inbound_agent_id is not null
        and q.org_id <> p.org_id and (q.created_at, q.id) < (p.created_at, p.id));
create unique index phone_numbers_inbound_owner on phone_numbers(number) where deleted_at is null and inbound_agent_id is not null;
