-- Heap's pattern, then the default privilege leaves the file: it is revoked, and so are the
-- table grants it produced (the analysts are a role the file manages, in a schema it manages).
CREATE ROLE dpr_heap LOGIN;
CREATE ROLE dpr_analysts;
CREATE SCHEMA heap AUTHORIZATION dpr_heap;
GRANT USAGE ON SCHEMA heap TO dpr_analysts;
ALTER DEFAULT PRIVILEGES FOR ROLE dpr_heap IN SCHEMA heap GRANT SELECT ON TABLES TO dpr_analysts;
SET ROLE dpr_heap;
CREATE TABLE heap.pageviews (user_id bigint, time timestamp);
CREATE TABLE heap.sessions (user_id bigint, time timestamp);
RESET ROLE;
