CREATE SCHEMA "analytics";
CREATE TABLE analytics.users (
  user_id int8 PRIMARY KEY,
  user_creation_time timestamptz,
  updated_at timestamp without time zone NOT NULL DEFAULT now(),
  email character varying(320),
  country bpchar(2) DEFAULT 'UK'::bpchar,
  score double precision DEFAULT 0,
  active bool DEFAULT true,
  tags text[]
);
CREATE ROLE ae_vendor LOGIN;
GRANT USAGE ON SCHEMA analytics TO ae_vendor;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON analytics.users TO ae_vendor;
