-- Why: the anon key ships inside every copy of the app, so what a client sends with a run request is
-- hostile input. Before this file an anon insert could choose `requested_at` ('infinity', year 294276, a
-- BC date: timestamps PostgreSQL accepts but no client can show, and which stopped the desktop app from
-- starting), jump the queue (claims take the oldest `requested_at` first), and put megabytes, newlines or
-- terminal escape sequences into the request's text. For the roles that hold the public key (anon,
-- authenticated) this trigger makes the server decide what a client may not:
--   requested_at            the server's now() on insert; an update never changes it;
--   requested_by            at most 200 characters, no control characters;
--   project_id, job_id      at most 512 characters, no control characters (U+0001-U+001F, U+007F-U+009F).
-- A refused row fails with 23514 (HTTP 400) and a message naming the column. The service role (the Mac mini
-- worker's key, and ClawdOS's worker) and the database owner are trusted and not limited; the readers treat
-- every row as untrusted anyway. A trigger, not CHECK constraints: it applies per role, and rows already
-- in the table stay claimable, completable and rescuable (only a changed value is checked on update).
-- The seed's tables are otherwise unchanged.
CREATE OR REPLACE FUNCTION public.cron_run_requests_client_rules() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_temp
AS $$
DECLARE
  column_name text;
  max_length integer;
  new_value text;
  old_value text;
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
  RETURN NEW;
END
$$;

REVOKE EXECUTE ON FUNCTION public.cron_run_requests_client_rules() FROM PUBLIC;

DROP TRIGGER IF EXISTS cron_run_requests_client_rules ON public.cron_run_requests;
CREATE TRIGGER cron_run_requests_client_rules
  BEFORE INSERT OR UPDATE ON public.cron_run_requests
  FOR EACH ROW EXECUTE FUNCTION public.cron_run_requests_client_rules();
