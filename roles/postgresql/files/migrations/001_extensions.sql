-- MANTIS metadata schema, migration 001: extensions.
-- PostGIS provides the geometry types of asset and site locations. The role creates
-- the extension as a superuser before the migrations run (PostGIS is not a trusted
-- extension); IF NOT EXISTS makes this file a no-op then, and creates it when the
-- migrations are applied by a superuser on their own.
-- gen_random_uuid() is built into PostgreSQL 13 and later: no pgcrypto needed.
CREATE EXTENSION IF NOT EXISTS postgis;
