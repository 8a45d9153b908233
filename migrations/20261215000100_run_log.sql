-- Why: the app showed only the last run of a job and the requests made through CronMirror; a scheduled run
-- left no trace, so nobody could see that last night's backup failed three times in a row, or that a job
-- takes ever longer. cron_run_log keeps every run a worker learns of, one row each:
--   scheduled and catch-up runs of jobs.toml jobs (the worker runs them), runs made for a request (any
--   source), and the gateway's own run log (its scheduled runs included), read incrementally;
--   crontab and launchd run their scheduled runs without telling anyone, so those never appear here.
-- `run_key` identifies a run for its writer (the gateway's run id, a request id, a jobs.toml run id), so
-- writing the same run again (a retry, an entry that went from running to finished) updates its row.
-- The worker keeps the newest 200 rows per job (prune_run_log) and each row is bounded (tails 16 kB each,
-- summary 2,000 characters). Like the other tables: readable with the anon key, written only with the
-- service role (hardening as in …_harden_policies.sql; docs/sql/anon-worker-mode.sql opens it up for the
-- seed's anon-only mode), in the realtime publication with REPLICA IDENTITY FULL.
CREATE TABLE public.cron_run_log (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id text NOT NULL,
  job_id text NOT NULL,
  run_key text NOT NULL,
  run_at timestamptz NOT NULL,
  finished_at timestamptz,
  duration_ms integer CHECK (duration_ms IS NULL OR duration_ms >= 0),
  status text NOT NULL CHECK (status IN ('running', 'ok', 'error', 'skipped', 'cancelled')),
  summary text CHECK (summary IS NULL OR char_length(summary) <= 2000),
  stdout_tail text CHECK (stdout_tail IS NULL OR char_length(stdout_tail) <= 16000),
  stderr_tail text CHECK (stderr_tail IS NULL OR char_length(stderr_tail) <= 16000),
  trigger text NOT NULL DEFAULT 'unknown'
    CHECK (trigger IN ('schedule', 'request', 'catch-up', 'manual', 'unknown')),
  request_id uuid,
  source text CHECK (source IS NULL OR source IN ('gateway', 'crontab', 'launchd', 'jobs')),
  host text CHECK (host IS NULL OR char_length(host) BETWEEN 1 AND 255),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT cron_run_log_key UNIQUE (project_id, run_key),
  CONSTRAINT cron_run_log_text_bounds CHECK (
    char_length(project_id) <= 512 AND char_length(job_id) <= 512 AND char_length(run_key) <= 512
  )
);

CREATE INDEX cron_run_log_job_time_idx ON public.cron_run_log (project_id, job_id, run_at DESC);

ALTER TABLE public.cron_run_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cron_run_log REPLICA IDENTITY FULL;

CREATE POLICY cron_run_log_read ON public.cron_run_log FOR SELECT TO anon, authenticated USING (true);
GRANT SELECT ON public.cron_run_log TO anon, authenticated;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.cron_run_log FROM anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.cron_run_log TO service_role;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM pg_publication_tables
    WHERE pubname = 'supabase_realtime' AND schemaname = 'public' AND tablename = 'cron_run_log'
  ) THEN
    ALTER PUBLICATION supabase_realtime ADD TABLE public.cron_run_log;
  END IF;
END
$$;

-- Keep the newest `p_keep` runs of each job of a project; returns how many rows were deleted.
CREATE FUNCTION public.prune_run_log(p_project_id text, p_keep integer DEFAULT 200)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
DECLARE
  deleted integer;
BEGIN
  IF p_keep IS NULL OR p_keep < 1 OR p_keep > 100000 THEN
    RAISE EXCEPTION 'keep must be between 1 and 100000, got %', p_keep USING ERRCODE = '22023';
  END IF;
  WITH ranked AS (
    SELECT id, row_number() OVER (PARTITION BY job_id ORDER BY run_at DESC, id DESC) AS n
      FROM public.cron_run_log
     WHERE project_id = p_project_id
  )
  DELETE FROM public.cron_run_log AS l USING ranked
   WHERE l.id = ranked.id AND ranked.n > p_keep;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  RETURN deleted;
END
$$;

REVOKE EXECUTE ON FUNCTION public.prune_run_log(text, integer) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.prune_run_log(text, integer) TO service_role;

-- When each job's newest recorded run started: what a worker has already recorded (it reads the gateway's
-- run log incrementally from there). PostgREST has no GROUP BY of its own, hence a function.
CREATE FUNCTION public.latest_runs(p_project_id text)
RETURNS TABLE (job_id text, run_at timestamptz)
LANGUAGE sql STABLE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
  SELECT l.job_id, max(l.run_at) FROM public.cron_run_log AS l WHERE l.project_id = p_project_id
   GROUP BY l.job_id;
$$;

REVOKE EXECUTE ON FUNCTION public.latest_runs(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.latest_runs(text) TO anon, authenticated, service_role;
