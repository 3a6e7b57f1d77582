CREATE SCHEMA app;
CREATE TABLE app.keep (id bigint PRIMARY KEY);
CREATE TABLE app.old_events (id bigint);
CREATE ROLE dut_reader;
GRANT USAGE ON SCHEMA app TO dut_reader;
GRANT SELECT ON app.old_events TO dut_reader;
CREATE SCHEMA other;
CREATE TABLE other.untouched (id bigint);
