-- Why: the ClawdOS web project (whose plan the seed is) later added these columns to cron_mirror, and its
-- Node worker (scripts/cron-mirror.mjs) writes target_agent_key on every sync. Against the seed's table
-- that upsert fails with PGRST204 and it mirrors nothing. With them, its worker and ours can share one
-- Supabase project. CronMirror's worker never writes them (its upserts name only the seed's columns, so
-- a merge leaves whatever ClawdOS put there); the app shows target_agent_key as the job's target.
-- IF NOT EXISTS: a project that already ran ClawdOS's own migration is left as it is.
ALTER TABLE public.cron_mirror
  ADD COLUMN IF NOT EXISTS target_agent_key text,
  ADD COLUMN IF NOT EXISTS job_intent text,
  ADD COLUMN IF NOT EXISTS context_policy text DEFAULT 'default',
  ADD COLUMN IF NOT EXISTS ui_label text;
