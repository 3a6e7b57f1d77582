CREATE SCHEMA app;
CREATE TABLE app.users (user_id bigint NOT NULL, country varchar(2) DEFAULT 'US', plan varchar(64), updated_at timestamp);
