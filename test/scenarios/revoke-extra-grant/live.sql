CREATE SCHEMA app;
CREATE TABLE app.events (user_id bigint);
CREATE ROLE reg_vendor LOGIN;
CREATE ROLE reg_someone_else;
GRANT USAGE ON SCHEMA app TO reg_vendor;
GRANT SELECT, INSERT, DELETE ON app.events TO reg_vendor;
GRANT SELECT ON app.events TO reg_someone_else;
