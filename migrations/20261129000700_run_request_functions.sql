-- Why: the seed's worker reads queued rows and then updates them, so two workers (or one restarted
-- mid-poll) can run the same request twice, and nothing notices a worker that died. These functions are
-- the whole request lifecycle, each one a single atomic statement:
--   claim_run_request            queued -> running for exactly one caller (FOR UPDATE SKIP LOCKED), with a lease
--   heartbeat_run_request        extends the lease, only while the caller still holds it
--   complete_run_request         running -> done | error, only while the caller still holds the lease
--   cancel_run_request           queued -> cancelled (never a running one)
--   rescue_expired_run_requests  running with an expired lease -> error, so nothing stays "running" forever
-- All but cancel run with the caller's rights (SECURITY INVOKER): once the hardening migration is applied
-- only the service role may call them; in the seed's anon-only mode the anon worker still can.

CREATE OR REPLACE FUNCTION public.claim_run_request(
  p_project_id text,
  p_worker_id text,
  p_lease_seconds integer DEFAULT 60
) RETURNS SETOF public.cron_run_requests
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
BEGIN
  IF coalesce(p_project_id, '') = '' OR coalesce(p_worker_id, '') = '' THEN
    RAISE EXCEPTION 'claim_run_request needs a project id and a worker id'
      USING ERRCODE = '22023';
  END IF;
  IF p_lease_seconds IS NULL OR p_lease_seconds < 5 OR p_lease_seconds > 86400 THEN
    RAISE EXCEPTION 'lease must be between 5 and 86400 seconds, got %', p_lease_seconds
      USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  UPDATE public.cron_run_requests AS r
     SET status = 'running',
         picked_up_at = now(),
         worker_id = p_worker_id,
         lease_until = now() + make_interval(secs => p_lease_seconds),
         heartbeat_at = now(),
         attempts = r.attempts + 1
   WHERE r.status = 'queued'
     AND r.id = (
       SELECT q.id FROM public.cron_run_requests AS q
        WHERE q.project_id = p_project_id AND q.status = 'queued'
        ORDER BY q.requested_at, q.id
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
  RETURNING r.*;
END
$$;

CREATE OR REPLACE FUNCTION public.heartbeat_run_request(
  p_request_id uuid,
  p_worker_id text,
  p_lease_seconds integer DEFAULT 60
) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
BEGIN
  IF p_lease_seconds IS NULL OR p_lease_seconds < 5 OR p_lease_seconds > 86400 THEN
    RAISE EXCEPTION 'lease must be between 5 and 86400 seconds, got %', p_lease_seconds
      USING ERRCODE = '22023';
  END IF;
  UPDATE public.cron_run_requests
     SET heartbeat_at = now(),
         lease_until = now() + make_interval(secs => p_lease_seconds)
   WHERE id = p_request_id
     AND worker_id = p_worker_id
     AND status = 'running'
     AND lease_until > now();
  RETURN FOUND;
END
$$;

CREATE OR REPLACE FUNCTION public.complete_run_request(
  p_request_id uuid,
  p_worker_id text,
  p_status text,
  p_result jsonb DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
BEGIN
  IF p_status IS NULL OR p_status NOT IN ('done', 'error') THEN
    RAISE EXCEPTION 'a request completes as done or error, not %', coalesce(p_status, 'null')
      USING ERRCODE = '22023';
  END IF;
  UPDATE public.cron_run_requests
     SET status = p_status,
         completed_at = now(),
         result = p_result,
         lease_until = NULL
   WHERE id = p_request_id
     AND worker_id = p_worker_id
     AND status = 'running'
     AND lease_until > now();
  RETURN FOUND;
END
$$;

-- SECURITY DEFINER: after hardening the anon role may not UPDATE the table, yet a user must be able to
-- withdraw a request that no worker has picked up. This function can do exactly that and nothing else.
CREATE OR REPLACE FUNCTION public.cancel_run_request(
  p_request_id uuid
) RETURNS SETOF public.cron_run_requests
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  UPDATE public.cron_run_requests
     SET status = 'cancelled',
         completed_at = now(),
         result = jsonb_build_object('reason', 'cancelled before a worker picked it up')
   WHERE id = p_request_id
     AND status = 'queued'
  RETURNING *;
$$;

-- Only requests with a lease are rescued: a row 'running' without one belongs to a lease-less worker
-- (the seed's, or ClawdOS's Node worker) that may well still be running it.
CREATE OR REPLACE FUNCTION public.rescue_expired_run_requests(
  p_project_id text DEFAULT NULL
) RETURNS SETOF public.cron_run_requests
LANGUAGE sql VOLATILE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
  UPDATE public.cron_run_requests
     SET status = 'error',
         completed_at = now(),
         result = coalesce(result, '{}'::jsonb) || jsonb_build_object(
           'reason', format('worker %s stopped reporting; its lease expired at %s',
                            coalesce(worker_id, '?'),
                            to_char(lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
           'workerId', worker_id,
           'rescued', true),
         lease_until = NULL
   WHERE status = 'running'
     AND lease_until IS NOT NULL
     AND lease_until < now()
     AND (p_project_id IS NULL OR project_id = p_project_id)
  RETURNING *;
$$;
