-- Why: Supabase Realtime only streams changes of tables in the `supabase_realtime` publication; the seed
-- never adds them, so the app's live run-request chips would never move. REPLICA IDENTITY FULL makes
-- UPDATE/DELETE events carry the whole old row, which Realtime needs to evaluate a filter on a non-key
-- column such as `project_id=eq.X` (without it, filtered DELETE events are never delivered).
-- Idempotent: a project that already published these tables (ClawdOS does) is left as it is.
DO $$
DECLARE
  t text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
  FOREACH t IN ARRAY ARRAY['cron_mirror', 'cron_run_requests'] LOOP
    IF NOT EXISTS (
      SELECT 1 FROM pg_publication_tables
      WHERE pubname = 'supabase_realtime' AND schemaname = 'public' AND tablename = t
    ) THEN
      EXECUTE format('ALTER PUBLICATION supabase_realtime ADD TABLE public.%I', t);
    END IF;
  END LOOP;
END
$$;

ALTER TABLE public.cron_mirror REPLICA IDENTITY FULL;
ALTER TABLE public.cron_run_requests REPLICA IDENTITY FULL;
