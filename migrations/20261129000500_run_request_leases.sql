-- Why: the seed's worker flips a request to 'running' and hopes. If the Mac mini crashes or loses its
-- network mid-run, the request stays 'running' forever. A lease makes ownership explicit and temporary:
--   worker_id     which worker holds the request (set by claim_run_request)
--   lease_until   the claim is valid until then; heartbeat_run_request extends it while the job runs
--   heartbeat_at  when the worker last proved it was alive (shown in the app)
--   attempts      how many times a worker claimed it
-- rescue_expired_run_requests() ends requests whose lease ran out.
ALTER TABLE public.cron_run_requests
  ADD COLUMN worker_id text,
  ADD COLUMN lease_until timestamptz,
  ADD COLUMN heartbeat_at timestamptz,
  ADD COLUMN attempts integer NOT NULL DEFAULT 0;

-- The worker looks for its project's queued requests, oldest first, and for expired leases.
CREATE INDEX cron_run_requests_queued_idx
  ON public.cron_run_requests (project_id, requested_at)
  WHERE status = 'queued';
CREATE INDEX cron_run_requests_lease_idx
  ON public.cron_run_requests (lease_until)
  WHERE status = 'running';
