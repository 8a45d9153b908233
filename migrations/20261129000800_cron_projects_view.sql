-- Why: the app's project switcher needs the projects that exist without the user typing ids. A project
-- shows up once its worker mirrored a job or someone queued a request. job_count leaves out rows that are
-- not jobs (the ClawdOS worker's '__mirror_state__' fingerprint row). last_sync_at is the newest mirror
-- write, i.e. when the worker last changed something. security_invoker: the caller's RLS applies.
CREATE OR REPLACE VIEW public.cron_projects WITH (security_invoker = true) AS
WITH mirror AS (
  SELECT project_id,
         count(*) FILTER (
           WHERE job_id <> '__mirror_state__' AND schedule_kind IS DISTINCT FROM 'state'
         ) AS job_count,
         max(updated_at) AS last_sync_at
    FROM public.cron_mirror
   GROUP BY project_id
), requests AS (
  SELECT project_id, max(requested_at) AS last_request_at
    FROM public.cron_run_requests
   GROUP BY project_id
)
SELECT project_id,
       coalesce(mirror.job_count, 0)::integer AS job_count,
       mirror.last_sync_at,
       requests.last_request_at
  FROM mirror FULL JOIN requests USING (project_id);

GRANT SELECT ON public.cron_projects TO anon, authenticated, service_role;
