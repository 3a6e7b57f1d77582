CREATE SCHEMA app;
CREATE TABLE app.events (user_id integer NOT NULL, event_name varchar(32) NOT NULL, amount numeric(10,2), updated_at timestamp NOT NULL);
INSERT INTO app.events VALUES (1, 'Payment_Initiated', 200.00, now());
