-- Why: with several Mac minis on one project (…_mirror_source_and_host.sql), a run request for a job must
-- reach the worker of the job's host: any other worker would end it as "unknown job", or, with the same
-- jobs.toml key on both machines, run the wrong machine's job. claim_run_request gets a host argument and
-- hands a worker only requests for jobs of its host, or of no host (a mirror row without one, or no row at
-- all). Called without a host (a worker from before this file), it takes only requests for jobs without a
-- host, which is every job such a worker mirrors. Otherwise it is the function of
-- …_run_request_functions.sql: atomic (FOR UPDATE SKIP LOCKED), oldest first, with a lease.
-- The three-argument function is replaced, not overloaded (PostgREST could not choose between the two), and
-- the new one gets exactly the EXECUTE rights the old one had: only the service role after the hardening
-- migration, also anon in the seed's anon-only mode.
CREATE TEMP TABLE claim_run_request_grantees AS
SELECT CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee
  FROM pg_proc AS p
 CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS acl
  LEFT JOIN pg_roles AS r ON r.oid = acl.grantee
 WHERE p.oid = 'public.claim_run_request(text, text, integer)'::regprocedure
   AND acl.privilege_type = 'EXECUTE'
   AND acl.grantee <> p.proowner;

DROP FUNCTION public.claim_run_request(text, text, integer);

CREATE FUNCTION public.claim_run_request(
  p_project_id text,
  p_worker_id text,
  p_lease_seconds integer DEFAULT 60,
  p_host text DEFAULT NULL
) RETURNS SETOF public.cron_run_requests
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
BEGIN
  IF coalesce(p_project_id, '') = '' OR coalesce(p_worker_id, '') = '' THEN
    RAISE EXCEPTION 'claim_run_request needs a project id and a worker id'
      USING ERRCODE = '22023';
  END IF;
  IF p_lease_seconds IS NULL OR p_lease_seconds < 5 OR p_lease_seconds > 86400 THEN
    RAISE EXCEPTION 'lease must be between 5 and 86400 seconds, got %', p_lease_seconds
      USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  UPDATE public.cron_run_requests AS r
     SET status = 'running',
         picked_up_at = now(),
         worker_id = p_worker_id,
         lease_until = now() + make_interval(secs => p_lease_seconds),
         heartbeat_at = now(),
         attempts = r.attempts + 1
   WHERE r.status = 'queued'
     AND r.id = (
       SELECT q.id FROM public.cron_run_requests AS q
        WHERE q.project_id = p_project_id AND q.status = 'queued'
          AND NOT EXISTS (
            SELECT 1 FROM public.cron_mirror AS m
             WHERE m.project_id = q.project_id AND m.job_id = q.job_id
               AND m.host IS NOT NULL AND m.host IS DISTINCT FROM p_host)
        ORDER BY q.requested_at, q.id
        LIMIT 1
        FOR UPDATE OF q SKIP LOCKED)
  RETURNING r.*;
END
$$;

REVOKE ALL ON FUNCTION public.claim_run_request(text, text, integer, text)
  FROM PUBLIC, anon, authenticated, service_role;

DO $$
DECLARE
  grantee text;
BEGIN
  FOR grantee IN SELECT g.grantee FROM claim_run_request_grantees AS g LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION public.claim_run_request(text, text, integer, text) TO %s',
                   grantee);
  END LOOP;
END
$$;

DROP TABLE claim_run_request_grantees;
