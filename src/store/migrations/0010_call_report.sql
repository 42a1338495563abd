-- What the call object and its webhooks report (issue 14 part B).

-- metadata as text: the bytes the client sent. The json type kept them too, but the drivers parse a
-- json column into a JS value, whose numbers lose precision (18446744073709551617) and whose escapes
-- are rewritten; as text the API splices it into responses and webhook bodies verbatim.
-- json -> text keeps the stored text exactly.
alter table calls alter column metadata type text using metadata::text;

-- outbound today; inbound calls come later.
alter table calls add column direction text not null default 'outbound' check (direction in ('outbound', 'inbound'));

-- The agent's name when the call was placed: kept if the agent is renamed or deleted.
alter table calls add column agent_name text;
update calls c set agent_name = a.name from agents a where a.id = c.agent_id;
alter table calls alter column agent_name set not null;

-- Why a failed call failed, in words (the code is its end_reason): the SIP reason phrase, the
-- transport error, the provider's error.
alter table calls add column error_message text;

-- Each status or conversation event of a call happens at most once: the row is inserted with the
-- event's webhooks, in the same transaction, and a second insert (a 183 after a 180, a retransmitted
-- 180, two workers racing) finds the key taken and enqueues nothing.
create table call_event_once (
  org_id   text not null,
  call_id  text not null,
  event    text not null,
  at       timestamptz not null,
  primary key (org_id, call_id, event),
  foreign key (org_id, call_id) references calls(org_id, id)
);
