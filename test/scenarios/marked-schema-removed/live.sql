CREATE SCHEMA old_share;
COMMENT ON SCHEMA old_share IS 'managed by wharf';
CREATE TABLE old_share.events (id bigint);
CREATE ROLE msr_vendor;
DO $$ BEGIN EXECUTE format('COMMENT ON ROLE msr_vendor IS %L', 'managed by wharf (database ' || current_database() || ')'); END $$;
CREATE ROLE msr_other_db_role;
COMMENT ON ROLE msr_other_db_role IS 'managed by wharf (database elsewhere)';
CREATE SCHEMA adopted;
CREATE SCHEMA keep;
