-- Least-privilege roles for Kyso on PostgreSQL. Run as a superuser with
--   psql -v app_password="'...'" -v owner_password="'...'" -d kyso -f roles.sql
-- after the database exists (CREATE DATABASE kyso OWNER kyso_owner) and
-- again after an upgrade has run new migrations (it is idempotent).
--
-- kyso_owner owns the schema and runs the migrations: kyso serve started
--   once with this role's DSN at install and upgrade time, then stopped.
-- kyso_app is the service role every replica uses: it reads and writes the
--   service's tables but cannot change the schema, and it can never UPDATE
--   or DELETE an audit entry, a tree hash or a signed checkpoint.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kyso_owner') THEN
    CREATE ROLE kyso_owner LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kyso_app') THEN
    CREATE ROLE kyso_app LOGIN;
  END IF;
END $$;
ALTER ROLE kyso_owner PASSWORD :owner_password;
ALTER ROLE kyso_app PASSWORD :app_password;
ALTER ROLE kyso_app SET statement_timeout = '60s';

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO kyso_owner;
GRANT USAGE ON SCHEMA public TO kyso_app;

-- Everything the migrations created: read and write, no DDL.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO kyso_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO kyso_app;

-- The audit trail is append-only for the service. audit_pending is the
-- queue the sequencer integrates (and deletes from once entries are in
-- audit_log); audit_tree and audit_lease are the sequencer's single-row
-- state. The entries, hashes and checkpoints themselves are never changed.
-- (Tables not created yet are skipped: run this file again after the
-- owner's first start.)
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_log', 'audit_hashes', 'audit_checkpoints'] LOOP
    IF to_regclass(t) IS NOT NULL THEN
      EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM kyso_app', t);
    END IF;
  END LOOP;
  -- The hash chain kept from before the Merkle log.
  FOREACH t IN ARRAY ARRAY['audit_chain', 'audit_chain_head', 'audit_chain_checkpoints'] LOOP
    IF to_regclass(t) IS NOT NULL THEN
      EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I FROM kyso_app', t);
    END IF;
  END LOOP;
  -- Migrations are bookkeeping of the owner.
  IF to_regclass('schema_migrations') IS NOT NULL THEN
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM kyso_app;
  END IF;
END $$;

-- Tables later migrations create get the same defaults (audit tables added
-- by a migration must be added to the REVOKE above by that upgrade).
ALTER DEFAULT PRIVILEGES FOR ROLE kyso_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kyso_app;
ALTER DEFAULT PRIVILEGES FOR ROLE kyso_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO kyso_app;
