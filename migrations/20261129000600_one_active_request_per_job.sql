-- Why: a double click (or two people clicking Run) must not run a job twice. At most one request per
-- (project, job) may be active (queued or running); a second insert fails with 23505 (HTTP 409), and the
-- app then shows the request that is already active instead of creating a duplicate.
CREATE UNIQUE INDEX cron_run_requests_one_active_idx
  ON public.cron_run_requests (project_id, job_id)
  WHERE status IN ('queued', 'running');
