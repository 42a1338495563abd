-- A scripted conversation (src/voice/flow) an agent can run instead of, or without, an LLM.
alter table agents add column flow jsonb;
