-- How an agent holds the conversation (first speaker, barge-in, inactivity, lines, filler, VAD):
-- src/contract/agent.ts ConversationSettings, stored as given; null means every default.
alter table agents add column conversation jsonb;
