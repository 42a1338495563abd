-- Answering-machine detection (issue 17). A call's verdict (who answered, when, on which cues, and
-- the end of a machine's greeting) is written by the worker as it is reached: one JSON value, null
-- while there is none. An agent's defaults for machine_detection and voicemail, each overridden
-- whole by a call's own.
alter table calls add column amd jsonb;
alter table agents add column machine_detection jsonb;
alter table agents add column voicemail jsonb;
