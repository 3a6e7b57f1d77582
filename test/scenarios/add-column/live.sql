CREATE SCHEMA app;
CREATE TABLE app.accounts (account_id bigint PRIMARY KEY, updated_at timestamp NOT NULL);
