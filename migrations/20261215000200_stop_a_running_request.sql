-- Why: a running job could not be stopped from anywhere but the Mac mini ("Cancel" only withdrew a queued
-- request). Now a request can carry a stop request:
--   cancel_requested_at / cancel_requested_by   set by cancel_run_request on a running request (who asked,
--                                               e.g. "ui:alice@laptop", bounded and without control
--                                               characters); the worker sees the change through Realtime,
--                                               ends the job's process group (TERM, then KILL after its
--                                               grace) and completes the request as 'cancelled' with what
--                                               the job printed.
-- cancel_run_request keeps its rules: it acts only on a request of the project it is called for, turns a
-- queued request into 'cancelled' at once, and on a running one sets only these two columns (once: the
-- first request to stop wins). The anon key still may not UPDATE the table itself. complete_run_request
-- accepts 'cancelled' from the lease holder, only for a request someone asked to stop.
-- Also: `p_by`, so the row says who withdrew a queued request too. The two-argument function is replaced
-- (PostgREST could not choose between overloads); its callers' calls keep working (p_by has a default).
ALTER TABLE public.cron_run_requests
  ADD COLUMN IF NOT EXISTS cancel_requested_at timestamptz,
  ADD COLUMN IF NOT EXISTS cancel_requested_by text;

ALTER TABLE public.cron_run_requests
  ADD CONSTRAINT cron_run_requests_cancel_by_shape
    CHECK (cancel_requested_by IS NULL OR char_length(cancel_requested_by) <= 200);

DROP FUNCTION IF EXISTS public.cancel_run_request(text, uuid);

CREATE FUNCTION public.cancel_run_request(
  p_project_id text,
  p_request_id uuid,
  p_by text DEFAULT NULL
) RETURNS SETOF public.cron_run_requests
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  who text := nullif(btrim(coalesce(p_by, '')), '');
BEGIN
  IF who IS NOT NULL AND (char_length(who) > 200 OR who ~ '[\x01-\x1f\x7f-\x9f]') THEN
    RAISE EXCEPTION 'p_by must be at most 200 characters without control characters'
      USING ERRCODE = '23514';
  END IF;
  RETURN QUERY
  UPDATE public.cron_run_requests AS r
     SET status = CASE WHEN r.status = 'queued' THEN 'cancelled' ELSE r.status END,
         completed_at = CASE WHEN r.status = 'queued' THEN now() ELSE r.completed_at END,
         result = CASE
           WHEN r.status = 'queued' THEN jsonb_build_object(
             'reason', 'cancelled before a worker picked it up'
                       || CASE WHEN who IS NULL THEN '' ELSE ' (by ' || who || ')' END)
           ELSE r.result END,
         cancel_requested_at = coalesce(r.cancel_requested_at, now()),
         cancel_requested_by = coalesce(r.cancel_requested_by, who)
   WHERE r.id = p_request_id
     AND r.project_id = p_project_id
     AND r.status IN ('queued', 'running')
  RETURNING r.*;
END
$$;

REVOKE EXECUTE ON FUNCTION public.cancel_run_request(text, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.cancel_run_request(text, uuid, text) TO anon, authenticated, service_role;

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
  IF p_status IS NULL OR p_status NOT IN ('done', 'error', 'cancelled') THEN
    RAISE EXCEPTION 'a request completes as done, error or cancelled, not %', coalesce(p_status, 'null')
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
     AND lease_until IS NOT NULL
     AND (p_status <> 'cancelled' OR cancel_requested_at IS NOT NULL);
  RETURN FOUND;
END
$$;

-- The live output of a running request: the holder writes its output tail into `result` while the job
-- runs (at most every two seconds, only when it changed); complete_run_request replaces it at the end.
CREATE FUNCTION public.progress_run_request(
  p_request_id uuid,
  p_worker_id text,
  p_result jsonb
) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
BEGIN
  UPDATE public.cron_run_requests
     SET result = p_result
   WHERE id = p_request_id
     AND worker_id = p_worker_id
     AND status = 'running'
     AND lease_until IS NOT NULL;
  RETURN FOUND;
END
$$;

REVOKE EXECUTE ON FUNCTION public.progress_run_request(uuid, text, jsonb) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.progress_run_request(uuid, text, jsonb) TO service_role;

-- A client queues a request without a stop request (the hardening policy, where it is applied, gets the
-- two new columns in its list of what a client may not set).
DO $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM pg_policies
     WHERE schemaname = 'public' AND tablename = 'cron_run_requests' AND policyname = 'cron_run_requests_queue'
  ) THEN
    DROP POLICY cron_run_requests_queue ON public.cron_run_requests;
    CREATE POLICY cron_run_requests_queue ON public.cron_run_requests
      FOR INSERT TO anon, authenticated
      WITH CHECK (
        status = 'queued'
        AND picked_up_at IS NULL AND completed_at IS NULL AND result IS NULL
        AND worker_id IS NULL AND lease_until IS NULL AND heartbeat_at IS NULL
        AND attempts = 0
        AND cancel_requested_at IS NULL AND cancel_requested_by IS NULL
      );
  END IF;
END
$$;
