-- Why: a reader of cron_mirror could not tell two things the rows now say.
--   source  which scheduler runs the job: 'gateway' (OpenClaw/ClawdBot, croner's rules) or 'crontab',
--           'launchd', 'jobs' (cron(8)'s rules). The same expression runs at different times under the two
--           (docs/schedules.md), so the app picks the rules from here. NULL (ClawdOS's worker, rows written
--           before this file) means a gateway job.
--   host    which machine the job lives on. With two Mac minis (or ClawdOS's worker beside ours) on one
--           project, every worker deleted the rows its own sources did not list: each other's jobs. Now a
--           CronMirror worker writes and deletes only rows of its own host (rows without a host are left to
--           whoever wrote them), and run requests go to the worker of the job's host
--           (…_claim_requests_by_host.sql). When two hosts have a job with the same id, the second one's
--           row is `<id>@<host>` (docs/worker.md, "Several Mac minis on one project").
-- Both columns are nullable and the seed's columns are unchanged; ClawdOS's worker, which names only its own
-- columns in its upserts, keeps working and leaves both as they are.
ALTER TABLE public.cron_mirror
  ADD COLUMN IF NOT EXISTS source text,
  ADD COLUMN IF NOT EXISTS host text;

ALTER TABLE public.cron_mirror
  ADD CONSTRAINT cron_mirror_source_known
    CHECK (source IS NULL OR source IN ('gateway', 'crontab', 'launchd', 'jobs')),
  ADD CONSTRAINT cron_mirror_host_shape
    CHECK (host IS NULL OR (char_length(host) BETWEEN 1 AND 255 AND host !~ '[\x01-\x1f\x7f-\x9f]'));

-- A row that belongs to one host is never taken over by another: an upsert that would change its host to
-- a different one leaves the row as it is (the BEFORE UPDATE trigger skips it; the rest of the batch is
-- written). This settles the race of two workers writing the same new id at once: the first one keeps it,
-- and the other worker sees that at its next comparison with the store and uses `<id>@<host>`. Setting the
-- host to NULL (releasing the row) and from NULL to a host (a worker taking over a row written before this
-- file) are allowed.
CREATE OR REPLACE FUNCTION public.cron_mirror_keep_host() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
BEGIN
  IF OLD.host IS NOT NULL AND NEW.host IS NOT NULL AND NEW.host <> OLD.host THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;

REVOKE EXECUTE ON FUNCTION public.cron_mirror_keep_host() FROM PUBLIC;

DROP TRIGGER IF EXISTS cron_mirror_keep_host ON public.cron_mirror;
CREATE TRIGGER cron_mirror_keep_host
  BEFORE UPDATE ON public.cron_mirror
  FOR EACH ROW EXECUTE FUNCTION public.cron_mirror_keep_host();
