CREATE SCHEMA toplyne;
CREATE TABLE toplyne.events (user_id bigint NOT NULL, "timestamp" timestamp NOT NULL);
CREATE ROLE pcr_vendor;
GRANT USAGE ON SCHEMA toplyne TO pcr_vendor;
GRANT SELECT ON toplyne.events TO pcr_vendor;
