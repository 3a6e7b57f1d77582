CREATE SCHEMA app;
CREATE TABLE app.events (user_id bigint NOT NULL, event_name varchar(256) NOT NULL);
INSERT INTO app.events VALUES (1, 'Trial_Ended');
