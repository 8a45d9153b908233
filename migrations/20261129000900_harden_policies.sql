-- Why: the seed lets the anon key (shipped inside every desktop app) do anything: rewrite or wipe the
-- mirror, mark any request 'done', delete history. After this migration:
--   anon / authenticated  may read both tables, queue a request (status 'queued', no worker fields),
--                         and withdraw a queued one through cancel_run_request();
--   service_role          (the Mac mini worker's key) does everything else: mirror writes, claims,
--                         heartbeats, completions, rescues.
-- To keep the seed's anon-only mode (a worker running with the anon key), do not apply this file, or
-- undo it with docs/sql/anon-worker-mode.sql. See README, "Keys and the hardening migration".

DROP POLICY IF EXISTS "cron_mirror_select_anon" ON public.cron_mirror;
DROP POLICY IF EXISTS "cron_mirror_write_anon" ON public.cron_mirror;
CREATE POLICY cron_mirror_read ON public.cron_mirror
  FOR SELECT TO anon, authenticated USING (true);
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.cron_mirror FROM anon, authenticated;

DROP POLICY IF EXISTS "cron_run_requests_select_anon" ON public.cron_run_requests;
DROP POLICY IF EXISTS "cron_run_requests_insert_anon" ON public.cron_run_requests;
DROP POLICY IF EXISTS "cron_run_requests_update_anon" ON public.cron_run_requests;
CREATE POLICY cron_run_requests_read ON public.cron_run_requests
  FOR SELECT TO anon, authenticated USING (true);
CREATE POLICY cron_run_requests_queue ON public.cron_run_requests
  FOR INSERT TO anon, authenticated
  WITH CHECK (
    status = 'queued'
    AND picked_up_at IS NULL AND completed_at IS NULL AND result IS NULL
    AND worker_id IS NULL AND lease_until IS NULL AND heartbeat_at IS NULL
    AND attempts = 0
  );
REVOKE UPDATE, DELETE, TRUNCATE ON public.cron_run_requests FROM anon, authenticated;

REVOKE EXECUTE ON FUNCTION public.claim_run_request(text, text, integer) FROM PUBLIC, anon, authenticated;
REVOKE EXECUTE ON FUNCTION public.heartbeat_run_request(uuid, text, integer) FROM PUBLIC, anon, authenticated;
REVOKE EXECUTE ON FUNCTION public.complete_run_request(uuid, text, text, jsonb) FROM PUBLIC, anon, authenticated;
REVOKE EXECUTE ON FUNCTION public.rescue_expired_run_requests(text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.claim_run_request(text, text, integer) TO service_role;
GRANT EXECUTE ON FUNCTION public.heartbeat_run_request(uuid, text, integer) TO service_role;
GRANT EXECUTE ON FUNCTION public.complete_run_request(uuid, text, text, jsonb) TO service_role;
GRANT EXECUTE ON FUNCTION public.rescue_expired_run_requests(text) TO service_role;

REVOKE EXECUTE ON FUNCTION public.cancel_run_request(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.cancel_run_request(uuid) TO anon, authenticated, service_role;
