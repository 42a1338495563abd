-- Placeholder on branch h-c only: number 0009 belongs to branch h-a, and migrations must be numbered
-- without gaps (store/migrate.ts). Delete this file when h-a's 0009 is merged.
select 1;
