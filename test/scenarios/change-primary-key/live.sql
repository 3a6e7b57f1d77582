CREATE SCHEMA app;
CREATE TABLE app.users (user_id bigint, account_id bigint NOT NULL, updated_at timestamp, CONSTRAINT users_custom_pk PRIMARY KEY (user_id));
