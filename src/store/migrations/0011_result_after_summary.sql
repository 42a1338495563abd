-- The result webhook of an answered call carries its summary (src/analysis/call-result.ts): the
-- terminal transition of a call with a transcript and a callback_url does not write call.result but
-- sets result_due_at, the latest time it may go (the end + OUTCALL_RESULT_SUMMARY_WAIT_S). The
-- analysis sends it with its summary when it is done first; otherwise, at result_due_at, a timer or
-- any process's sweep sends it with the extractive summary. Whoever sends it clears result_due_at in
-- the same transaction, only if it is still set (compare-and-set): the result goes exactly once.
alter table calls add column result_due_at timestamptz;
create index calls_result_due on calls(result_due_at) where result_due_at is not null;
