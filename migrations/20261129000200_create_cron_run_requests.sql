-- The seed plan's cron_run_requests table (../shared/seed/plan.md, "Migration SQL for cron_run_requests"),
-- verbatim: "run now" requests queued by the app and executed by the Mac mini worker.
CREATE TABLE public.cron_run_requests (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id text NOT NULL,
  job_id text NOT NULL,
  requested_by text,
  requested_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL DEFAULT 'queued',
  picked_up_at timestamptz,
  completed_at timestamptz,
  result jsonb
);

CREATE INDEX cron_run_requests_project_time_idx 
  ON public.cron_run_requests(project_id, requested_at DESC);

ALTER TABLE public.cron_run_requests ENABLE ROW LEVEL SECURITY;

-- Anon read access
CREATE POLICY "cron_run_requests_select_anon" ON public.cron_run_requests
  FOR SELECT USING (true);

-- Anon insert (UI can queue requests)
CREATE POLICY "cron_run_requests_insert_anon" ON public.cron_run_requests
  FOR INSERT WITH CHECK (true);

-- Anon update (worker can update status)
CREATE POLICY "cron_run_requests_update_anon" ON public.cron_run_requests
  FOR UPDATE USING (true) WITH CHECK (true);
