-- Placeholder on branch h-c only: number 0010 belongs to branch h-b, and migrations must be numbered
-- without gaps (store/migrate.ts). Delete this file when h-b's 0010 is merged.
select 1;
