-- Why: cancel_run_request(request id) let anyone holding the anon key withdraw a queued request of any
-- project, knowing only its id. The app has no sign-in, so whoever names a project may still withdraw
-- that project's queued requests (a stated property: docs/architecture.md, "What the anon key can do"),
-- but the function now takes the project id too and refuses a request of another project. It still only
-- turns 'queued' into 'cancelled', never touches a running request, and runs as its owner (SECURITY
-- DEFINER) because after hardening the anon role may not UPDATE the table itself. The one-argument
-- version is dropped, so it cannot be used to get around the check.
DROP FUNCTION IF EXISTS public.cancel_run_request(uuid);

CREATE FUNCTION public.cancel_run_request(
  p_project_id text,
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
     AND project_id = p_project_id
     AND status = 'queued'
  RETURNING *;
$$;

REVOKE EXECUTE ON FUNCTION public.cancel_run_request(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.cancel_run_request(text, uuid) TO anon, authenticated, service_role;
