CREATE SCHEMA app;
CREATE TABLE app.accounts (account_id bigint PRIMARY KEY, legacy_flag boolean, updated_at timestamp NOT NULL);
INSERT INTO app.accounts VALUES (1, true, now());
