-- Undo migrations/20261129000900_harden_policies.sql: back to the seed's anon-only mode, where the Mac mini
-- worker runs with the anon key. Anyone holding the anon key (every copy of the app) can then rewrite the
-- mirror and forge request results. Prefer the service-role key on the worker instead.
DROP POLICY IF EXISTS cron_mirror_read ON public.cron_mirror;
DROP POLICY IF EXISTS cron_run_requests_read ON public.cron_run_requests;
DROP POLICY IF EXISTS cron_run_requests_queue ON public.cron_run_requests;

CREATE POLICY "cron_mirror_select_anon" ON public.cron_mirror FOR SELECT USING (true);
CREATE POLICY "cron_mirror_write_anon" ON public.cron_mirror FOR ALL USING (true) WITH CHECK (true);
CREATE POLICY "cron_run_requests_select_anon" ON public.cron_run_requests FOR SELECT USING (true);
CREATE POLICY "cron_run_requests_insert_anon" ON public.cron_run_requests FOR INSERT WITH CHECK (true);
CREATE POLICY "cron_run_requests_update_anon" ON public.cron_run_requests
  FOR UPDATE USING (true) WITH CHECK (true);

GRANT INSERT, UPDATE, DELETE ON public.cron_mirror TO anon, authenticated;
GRANT UPDATE, DELETE ON public.cron_run_requests TO anon, authenticated;

GRANT EXECUTE ON FUNCTION public.claim_run_request(text, text, integer, text, text[]) TO anon, authenticated;
GRANT EXECUTE ON FUNCTION public.heartbeat_run_request(uuid, text, integer) TO anon, authenticated;
GRANT EXECUTE ON FUNCTION public.complete_run_request(uuid, text, text, jsonb) TO anon, authenticated;
GRANT EXECUTE ON FUNCTION public.rescue_expired_run_requests(text) TO anon, authenticated;

-- The run log (…_run_log.sql) and the live output of a running request (…_stop_a_running_request.sql).
DROP POLICY IF EXISTS cron_run_log_write_anon ON public.cron_run_log;
CREATE POLICY cron_run_log_write_anon ON public.cron_run_log FOR ALL USING (true) WITH CHECK (true);
GRANT INSERT, UPDATE, DELETE ON public.cron_run_log TO anon, authenticated;
GRANT EXECUTE ON FUNCTION public.prune_run_log(text, integer) TO anon, authenticated;
GRANT EXECUTE ON FUNCTION public.progress_run_request(uuid, text, jsonb) TO anon, authenticated;
