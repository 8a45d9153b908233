-- The Supabase stand-in's own objects, applied on top of Supabase's bootstrap and the app's migrations
-- (never part of migrations/, which stay exactly what `supabase db push` applies to a real project).
--
--  * change capture for Realtime: a row trigger on every table of the `supabase_realtime` publication
--    NOTIFYs `supastack_changes` with the row as JSON; payloads NOTIFY cannot carry (8000 bytes) go to
--    `supastack.overflow` and the notification carries the row id instead;
--  * `sync_triggers()` keeps those triggers in step with the publication; an event trigger re-runs it
--    when a migration or a test changes the publication, so migrations stay Supabase-style;
--  * PostgREST's schema cache: hosted Supabase reloads it from event triggers (`pgrst_ddl_watch`); here the
--    same event trigger also bumps `supastack.schema_stamp`, which each request reads in its own
--    transaction, so a schema change is visible to the very next request (no NOTIFY race);
--  * `supastack.realtime_visible()`: per-subscriber filter and RLS checks for one change in one round trip.
-- Everything here is owned by the superuser that applies it.

CREATE SCHEMA supastack;
REVOKE ALL ON SCHEMA supastack FROM PUBLIC;
GRANT USAGE ON SCHEMA supastack TO authenticator;

-- Bumped by every DDL command; read by every REST request (as `authenticator`, before the role switch).
CREATE TABLE supastack.schema_stamp (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  version bigint NOT NULL
);
INSERT INTO supastack.schema_stamp (version) VALUES (1);
GRANT SELECT ON supastack.schema_stamp TO authenticator;

-- Change payloads too large for NOTIFY; the server (superuser) reads and deletes them.
CREATE TABLE supastack.overflow (
  id bigserial PRIMARY KEY,
  payload text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Makes every notification unique: NOTIFY folds identical payloads sent in one transaction into one.
CREATE SEQUENCE supastack.change_seq;

CREATE FUNCTION supastack.capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  payload text;
  overflow_id bigint;
BEGIN
  payload := json_build_object(
    'seq', nextval('supastack.change_seq'),
    'schema', TG_TABLE_SCHEMA,
    'table', TG_TABLE_NAME,
    'type', TG_OP,
    'commit_timestamp', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'record', CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END,
    'old_record', CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END
  )::text;
  IF octet_length(payload) <= 7900 THEN
    PERFORM pg_notify('supastack_changes', payload);
  ELSE
    INSERT INTO supastack.overflow (payload) VALUES (payload) RETURNING id INTO overflow_id;
    PERFORM pg_notify('supastack_changes', json_build_object('overflow', overflow_id)::text);
  END IF;
  RETURN NULL;
END
$$;

-- Install the capture trigger on every table of `supabase_realtime` and remove it from tables that left.
CREATE FUNCTION supastack.sync_triggers() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rel regclass;
BEGIN
  FOR rel IN
    SELECT c.oid::regclass
      FROM pg_publication_tables pt
      JOIN pg_namespace n ON n.nspname = pt.schemaname
      JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
     WHERE pt.pubname = 'supabase_realtime'
       AND c.relkind = 'r'
       AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'supastack_capture')
  LOOP
    EXECUTE format(
      'CREATE TRIGGER supastack_capture AFTER INSERT OR UPDATE OR DELETE ON %s '
      'FOR EACH ROW EXECUTE FUNCTION supastack.capture()', rel);
  END LOOP;
  FOR rel IN
    SELECT t.tgrelid::regclass
      FROM pg_trigger t
     WHERE t.tgname = 'supastack_capture'
       AND NOT EXISTS (
         SELECT 1
           FROM pg_publication_tables pt
           JOIN pg_namespace n ON n.nspname = pt.schemaname
           JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
          WHERE pt.pubname = 'supabase_realtime' AND c.oid = t.tgrelid)
  LOOP
    EXECUTE format('DROP TRIGGER supastack_capture ON %s', rel);
  END LOOP;
END
$$;

-- Like Supabase's `pgrst_ddl_watch`, plus the publication sync and the schema stamp. SECURITY DEFINER
-- because any role may run DDL (e.g. `anon` creating a temp table) and must not fail on our bookkeeping.
CREATE FUNCTION supastack.on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF tg_tag IN ('CREATE PUBLICATION', 'ALTER PUBLICATION', 'DROP PUBLICATION', 'CREATE TABLE', 'DROP TABLE') THEN
    PERFORM supastack.sync_triggers();
  END IF;
  UPDATE supastack.schema_stamp SET version = version + 1;
  PERFORM pg_notify('pgrst', 'reload schema');
END
$$;

CREATE EVENT TRIGGER supastack_ddl_watch ON ddl_command_end EXECUTE FUNCTION supastack.on_ddl();

-- One change, many subscribers: for each check, switch to the subscriber's role and claims (as PostgREST
-- and Realtime do) and run its query against the change's record ($1). SECURITY INVOKER on purpose: it is
-- called by `authenticator`, whose membership in the API roles is what makes the role switch legal, and
-- RLS and privileges are then PostgreSQL's own. Returns one letter per check: y(es), n(o), d(enied), e(rror).
CREATE FUNCTION supastack.realtime_visible(checks jsonb, record jsonb) RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  c jsonb;
  ok boolean;
  out text := '';
BEGIN
  FOR c IN SELECT value FROM jsonb_array_elements(checks) LOOP
    PERFORM set_config('role', c ->> 'role', true),
            set_config('request.jwt.claims', c ->> 'claims', true);
    BEGIN
      EXECUTE c ->> 'sql' INTO ok USING record;
      out := out || CASE WHEN ok THEN 'y' ELSE 'n' END;
    EXCEPTION
      WHEN insufficient_privilege THEN out := out || 'd';
      WHEN OTHERS THEN out := out || 'e';
    END;
  END LOOP;
  PERFORM set_config('role', 'none', true);
  RETURN out;
END
$$;
REVOKE ALL ON FUNCTION supastack.realtime_visible(jsonb, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION supastack.realtime_visible(jsonb, jsonb) TO authenticator;

-- Hosted Supabase loads pg-safeupdate for PostgREST's login role: UPDATE/DELETE without WHERE fail (21000).
-- The extension is not installed here; the stand-in reproduces its answer for PATCH/DELETE itself.

SELECT supastack.sync_triggers();
