-- Why: a worker that ran a job must be able to report it after an outage longer than its lease: the Mac
-- mini lost power or its network right as the job ended, and the worker reports the result it kept on disk
-- when it is back. Until now complete_run_request refused any result once lease_until had passed, even
-- though nobody else had touched the request, and the real result was replaced by "stopped reporting".
-- Now the worker that holds the request (same worker_id, still 'running') may complete it after its lease
-- expired, until someone rescues it: rescue_expired_run_requests() ends it as 'error', and from then on
-- every late result is refused, as before. Nothing else can happen to a running request in between (claims
-- take only queued ones), so a late result can never overwrite anything. Heartbeats still need a live lease.
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
     AND lease_until IS NOT NULL;
  RETURN FOUND;
END
$$;
