-- The seed plan's cron_mirror table (../shared/seed/plan.md, "Migration SQL for cron_mirror"), verbatim:
-- the latest known list of the Mac mini's scheduled jobs, one row per (project, job).
CREATE TABLE public.cron_mirror (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id text NOT NULL,
  job_id text NOT NULL,
  name text NOT NULL,
  schedule_kind text,
  schedule_expr text,
  tz text,
  enabled boolean NOT NULL DEFAULT true,
  next_run_at timestamptz,
  last_run_at timestamptz,
  last_status text,
  last_duration_ms integer,
  instructions text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX cron_mirror_project_job_idx 
  ON public.cron_mirror(project_id, job_id);

ALTER TABLE public.cron_mirror ENABLE ROW LEVEL SECURITY;

-- Anon read access
CREATE POLICY "cron_mirror_select_anon" ON public.cron_mirror
  FOR SELECT USING (true);

-- Anon write access (for Mac mini worker using anon key)
CREATE POLICY "cron_mirror_write_anon" ON public.cron_mirror
  FOR ALL USING (true) WITH CHECK (true);
