-- Why: a job could only be run from elsewhere; enabling, disabling or changing it still meant going to the
-- Mac mini. A request now names an action as well as a job, and the worker applies it through the job's own
-- source (docs/worker-sources.md, "Actions"):
--   action  run (the default: the seed's rows and ClawdOS's rows mean what they meant), enable, disable,
--           set_schedule, rename, and for jobs.toml jobs create and delete;
--   args    what the action needs, as a JSON object: set_schedule {kind, expr, tz?}, rename {name},
--           create {key, command, name?, schedule?, timeout?, enabled?, host?}; none for the others.
-- Safety, as for Run: the request names a job and an action with bounded, typed arguments; the worker decides
-- and applies it with the job's own source, and nothing from a request reaches a shell.
--   * Every writer: `action` must be a known action, `args` a JSON object of at most 16 kB (CHECKs).
--   * A client holding the public key (anon, authenticated): the shape of `args` per action — only its own
--     keys, each of its type, bounded, without control characters; cron expressions without shell
--     metacharacters, intervals in digits, times in ISO 8601, zones as IANA names; a create names the job
--     `jobs:<key>` (the client rules trigger of …_client_request_rules.sql, extended; the same words as
--     LocalStore, core/actions.py). The worker validates again, with the job's own schedule dialect.
--   * One active request per (job, action): a second Disable while one is queued is refused (23505) and the
--     app shows the active one; a Disable beside a queued Run is fine.
--   * claim_run_request hands a worker only the actions it says it applies (`p_actions`, default run only):
--     a worker from before this file never mistakes a Disable for a Run. A create goes to the host it names
--     (`args.host`), if it names one. Replaced, not overloaded (PostgREST could not choose), with the old
--     function's EXECUTE rights copied, as …_claim_requests_by_host.sql does.
-- The seed's columns are unchanged; readers that do not know `action` see every request as a run (ClawdOS's
-- Node worker would run the job of an action request: use one of the two workers per project, README).
ALTER TABLE public.cron_run_requests
  ADD COLUMN IF NOT EXISTS action text NOT NULL DEFAULT 'run',
  ADD COLUMN IF NOT EXISTS args jsonb;

ALTER TABLE public.cron_run_requests
  ADD CONSTRAINT cron_run_requests_action_known
    CHECK (action IN ('run', 'enable', 'disable', 'set_schedule', 'rename', 'create', 'delete')),
  ADD CONSTRAINT cron_run_requests_args_bounded
    CHECK (args IS NULL OR (jsonb_typeof(args) = 'object' AND octet_length(args::text) <= 16384));

DROP INDEX IF EXISTS public.cron_run_requests_one_active_idx;
CREATE UNIQUE INDEX cron_run_requests_one_active_idx
  ON public.cron_run_requests (project_id, job_id, action)
  WHERE status IN ('queued', 'running');

-- One text argument: NULL when it is fine, else what is wrong (the words LocalStore uses too).
CREATE OR REPLACE FUNCTION public.cron_request_text_problem(
  p_name text, p_value jsonb, p_max integer
) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = public, pg_temp
AS $$
DECLARE
  value text;
BEGIN
  IF p_value IS NULL OR jsonb_typeof(p_value) <> 'string' THEN
    RETURN format('args.%s must be text', p_name);
  END IF;
  value := p_value #>> '{}';
  IF value = '' THEN
    RETURN format('args.%s must not be empty', p_name);
  END IF;
  IF char_length(value) > p_max THEN
    RETURN format('args.%s must be at most %s characters', p_name, p_max);
  END IF;
  IF value ~ '[\x01-\x1f\x7f-\x9f]' THEN
    RETURN format('args.%s must not contain control characters', p_name);
  END IF;
  RETURN NULL;
END
$$;

-- A schedule {kind, expr, tz?}: `p_prefix` is "" for set_schedule's own args, "schedule." inside a create.
CREATE OR REPLACE FUNCTION public.cron_request_schedule_problem(
  p_prefix text, p_schedule jsonb
) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = public, pg_temp
AS $$
DECLARE
  key text;
  kind text;
  expr text;
  problem text;
BEGIN
  IF jsonb_typeof(p_schedule) <> 'object' THEN
    RETURN format('args.%s must be an object {kind, expr, tz}', rtrim(p_prefix, '.'));
  END IF;
  FOR key IN SELECT jsonb_object_keys(p_schedule) LOOP
    IF key NOT IN ('kind', 'expr', 'tz') THEN
      RETURN format('args.%s%s is not an argument of a schedule', p_prefix,
                    regexp_replace(left(key, 40), '[\x01-\x1f\x7f-\x9f]', '?', 'g'));
    END IF;
  END LOOP;
  IF jsonb_typeof(p_schedule -> 'kind') IS DISTINCT FROM 'string' THEN
    RETURN format('args.%skind must be one of cron, every, at', p_prefix);
  END IF;
  kind := p_schedule ->> 'kind';
  IF kind NOT IN ('cron', 'every', 'at') THEN
    RETURN format('args.%skind must be one of cron, every, at', p_prefix);
  END IF;
  problem := cron_request_text_problem(p_prefix || 'expr', p_schedule -> 'expr', 200);
  IF problem IS NOT NULL THEN
    RETURN problem;
  END IF;
  expr := p_schedule ->> 'expr';
  IF kind = 'cron' AND expr !~ '^[0-9A-Za-z*/,?#@+ -]+$' THEN
    RETURN format('args.%sexpr must be a cron expression: letters, digits, spaces and * / , - ? # @ + only',
                  p_prefix);
  END IF;
  IF kind = 'every' AND expr !~ '^[1-9][0-9]{0,14}$' THEN
    RETURN format('args.%sexpr must be the interval in milliseconds (digits only)', p_prefix);
  END IF;
  IF kind = 'at' AND expr !~
      '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})$' THEN
    RETURN format('args.%sexpr must be a date and time with its offset, like 2026-12-01T09:00:00Z', p_prefix);
  END IF;
  IF p_schedule ? 'tz' AND jsonb_typeof(p_schedule -> 'tz') <> 'null' THEN
    IF kind <> 'cron' THEN
      RETURN format('args.%stz applies to cron schedules only', p_prefix);
    END IF;
    problem := cron_request_text_problem(p_prefix || 'tz', p_schedule -> 'tz', 64);
    IF problem IS NOT NULL THEN
      RETURN problem;
    END IF;
    IF (p_schedule ->> 'tz') !~ '^[A-Za-z0-9_+/-]+$' THEN
      RETURN format('args.%stz must be an IANA time zone name such as Europe/Berlin', p_prefix);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

-- What is wrong with a request's action and args as a client sent them (NULL: nothing). core/actions.py
-- `args_problem` is the same function in Python.
CREATE OR REPLACE FUNCTION public.cron_request_args_problem(
  p_action text, p_job_id text, p_args jsonb
) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = public, pg_temp
AS $$
DECLARE
  allowed text[];
  key text;
  item jsonb;
  item_index integer := 0;
  problem text;
  size integer;
BEGIN
  IF p_action IS NULL
     OR p_action NOT IN ('run', 'enable', 'disable', 'set_schedule', 'rename', 'create', 'delete') THEN
    RETURN 'action must be one of run, enable, disable, set_schedule, rename, create, delete';
  END IF;
  IF p_args IS NULL OR jsonb_typeof(p_args) = 'null' THEN
    IF p_action IN ('set_schedule', 'rename', 'create') THEN
      RETURN format('args are required for %s', p_action);
    END IF;
    RETURN NULL;
  END IF;
  IF jsonb_typeof(p_args) <> 'object' THEN
    RETURN 'args must be a JSON object';
  END IF;
  size := octet_length(p_args::text);
  IF size > 16384 THEN
    RETURN format('args must be at most 16384 bytes, got %s', size);
  END IF;
  allowed := CASE p_action
    WHEN 'set_schedule' THEN ARRAY['kind', 'expr', 'tz']
    WHEN 'rename' THEN ARRAY['name']
    WHEN 'create' THEN ARRAY['key', 'name', 'command', 'schedule', 'timeout', 'enabled', 'host']
    ELSE ARRAY[]::text[]
  END;
  FOR key IN SELECT jsonb_object_keys(p_args) LOOP
    IF NOT key = ANY (allowed) THEN
      RETURN format('args.%s is not an argument of %s',
                    regexp_replace(left(key, 40), '[\x01-\x1f\x7f-\x9f]', '?', 'g'), p_action);
    END IF;
  END LOOP;
  IF p_action = 'set_schedule' THEN
    RETURN cron_request_schedule_problem('', p_args);
  END IF;
  IF p_action = 'rename' THEN
    RETURN cron_request_text_problem('name', p_args -> 'name', 200);
  END IF;
  IF p_action <> 'create' THEN
    RETURN NULL;
  END IF;
  problem := cron_request_text_problem('key', p_args -> 'key', 64);
  IF problem IS NOT NULL THEN
    RETURN problem;
  END IF;
  IF (p_args ->> 'key') !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' THEN
    RETURN 'args.key must be 1 to 64 letters, digits, _ . - starting with a letter or digit';
  END IF;
  IF p_job_id IS DISTINCT FROM 'jobs:' || (p_args ->> 'key') THEN
    RETURN 'a create request names the job it makes: job_id must be jobs:<args.key>';
  END IF;
  IF p_args ? 'name' THEN
    problem := cron_request_text_problem('name', p_args -> 'name', 200);
    IF problem IS NOT NULL THEN
      RETURN problem;
    END IF;
  END IF;
  IF jsonb_typeof(p_args -> 'command') IS DISTINCT FROM 'array' THEN
    RETURN 'args.command must be a list of 1 to 64 arguments';
  END IF;
  IF jsonb_array_length(p_args -> 'command') NOT BETWEEN 1 AND 64 THEN
    RETURN 'args.command must be a list of 1 to 64 arguments';
  END IF;
  FOR item IN SELECT jsonb_array_elements(p_args -> 'command') LOOP
    problem := cron_request_text_problem(format('command[%s]', item_index), item, 1024);
    IF problem IS NOT NULL THEN
      RETURN problem;
    END IF;
    item_index := item_index + 1;
  END LOOP;
  IF p_args ? 'schedule' AND jsonb_typeof(p_args -> 'schedule') <> 'null' THEN
    problem := cron_request_schedule_problem('schedule.', p_args -> 'schedule');
    IF problem IS NOT NULL THEN
      RETURN problem;
    END IF;
  END IF;
  IF p_args ? 'timeout' AND jsonb_typeof(p_args -> 'timeout') <> 'null' THEN
    IF jsonb_typeof(p_args -> 'timeout') <> 'number' THEN
      RETURN 'args.timeout must be a whole number of seconds from 1 to 604800';
    END IF;
    IF (p_args ->> 'timeout')::numeric <> trunc((p_args ->> 'timeout')::numeric)
       OR (p_args ->> 'timeout')::numeric NOT BETWEEN 1 AND 604800 THEN
      RETURN 'args.timeout must be a whole number of seconds from 1 to 604800';
    END IF;
  END IF;
  IF p_args ? 'enabled' AND jsonb_typeof(p_args -> 'enabled') <> 'boolean' THEN
    RETURN 'args.enabled must be true or false';
  END IF;
  IF p_args ? 'host' THEN
    RETURN cron_request_text_problem('host', p_args -> 'host', 255);
  END IF;
  RETURN NULL;
END
$$;

REVOKE EXECUTE ON FUNCTION public.cron_request_text_problem(text, jsonb, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.cron_request_schedule_problem(text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.cron_request_args_problem(text, text, jsonb) FROM PUBLIC;
-- Pure functions of their arguments: the client rules call them as the client's role.
GRANT EXECUTE ON FUNCTION public.cron_request_text_problem(text, jsonb, integer)
  TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.cron_request_schedule_problem(text, jsonb) TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.cron_request_args_problem(text, text, jsonb) TO anon, authenticated, service_role;

-- The client rules of …_client_request_rules.sql, plus `action` and `args` (checked on insert, and on an
-- update that changes them or the job).
CREATE OR REPLACE FUNCTION public.cron_run_requests_client_rules() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
  column_name text;
  max_length integer;
  new_value text;
  old_value text;
  problem text;
BEGIN
  IF current_user NOT IN ('anon', 'authenticated') THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' THEN
    NEW.requested_at := now();
  ELSE
    NEW.requested_at := OLD.requested_at;
  END IF;
  FOR column_name, max_length, new_value, old_value IN
    VALUES ('project_id', 512, NEW.project_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.project_id END),
           ('job_id', 512, NEW.job_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.job_id END),
           ('requested_by', 200, NEW.requested_by, CASE WHEN TG_OP = 'UPDATE' THEN OLD.requested_by END)
  LOOP
    CONTINUE WHEN new_value IS NULL OR (TG_OP = 'UPDATE' AND new_value IS NOT DISTINCT FROM old_value);
    IF char_length(new_value) > max_length THEN
      RAISE EXCEPTION '% must be at most % characters, got %', column_name, max_length, char_length(new_value)
        USING ERRCODE = '23514';
    END IF;
    IF new_value ~ '[\x01-\x1f\x7f-\x9f]' THEN
      RAISE EXCEPTION '% must not contain control characters (newlines, tabs, escape sequences)', column_name
        USING ERRCODE = '23514';
    END IF;
  END LOOP;
  IF TG_OP = 'INSERT' OR NEW.action IS DISTINCT FROM OLD.action OR NEW.args IS DISTINCT FROM OLD.args
     OR NEW.job_id IS DISTINCT FROM OLD.job_id THEN
    problem := cron_request_args_problem(NEW.action, NEW.job_id, NEW.args);
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION '%', problem USING ERRCODE = '23514';
    END IF;
  END IF;
  RETURN NEW;
END
$$;

REVOKE EXECUTE ON FUNCTION public.cron_run_requests_client_rules() FROM PUBLIC;

-- claim_run_request with the actions the caller applies.
CREATE TEMP TABLE claim_run_request_grantees AS
SELECT CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee
  FROM pg_proc AS p
 CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS acl
  LEFT JOIN pg_roles AS r ON r.oid = acl.grantee
 WHERE p.oid = 'public.claim_run_request(text, text, integer, text)'::regprocedure
   AND acl.privilege_type = 'EXECUTE'
   AND acl.grantee <> p.proowner;

DROP FUNCTION public.claim_run_request(text, text, integer, text);

CREATE FUNCTION public.claim_run_request(
  p_project_id text,
  p_worker_id text,
  p_lease_seconds integer DEFAULT 60,
  p_host text DEFAULT NULL,
  p_actions text[] DEFAULT ARRAY['run']
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
          AND q.action = ANY (coalesce(p_actions, ARRAY['run']))
          AND NOT EXISTS (
            SELECT 1 FROM public.cron_mirror AS m
             WHERE m.project_id = q.project_id AND m.job_id = q.job_id
               AND m.host IS NOT NULL AND m.host IS DISTINCT FROM p_host)
          AND (q.action <> 'create' OR q.args ->> 'host' IS NULL OR q.args ->> 'host' = p_host)
        ORDER BY q.requested_at, q.id
        LIMIT 1
        FOR UPDATE OF q SKIP LOCKED)
  RETURNING r.*;
END
$$;

REVOKE ALL ON FUNCTION public.claim_run_request(text, text, integer, text, text[])
  FROM PUBLIC, anon, authenticated, service_role;

DO $$
DECLARE
  grantee text;
BEGIN
  FOR grantee IN SELECT g.grantee FROM claim_run_request_grantees AS g LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION public.claim_run_request(text, text, integer, text, text[]) TO %s',
                   grantee);
  END LOOP;
END
$$;

DROP TABLE claim_run_request_grantees;
