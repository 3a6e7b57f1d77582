-- Heap's pattern: the vendor's user owns the schema and creates the tables; a default
-- privilege grants SELECT on them to the analysts as they appear.
CREATE ROLE dpx_heap LOGIN;
CREATE ROLE dpx_analysts;
CREATE SCHEMA heap AUTHORIZATION dpx_heap;
GRANT USAGE ON SCHEMA heap TO dpx_analysts;
ALTER DEFAULT PRIVILEGES FOR ROLE dpx_heap IN SCHEMA heap GRANT SELECT ON TABLES TO dpx_analysts;
SET ROLE dpx_heap;
CREATE TABLE heap.pageviews (user_id bigint, time timestamp);
CREATE TABLE heap.sessions (user_id bigint, time timestamp);
-- Granted by hand beyond the default privilege: not explained by it.
GRANT INSERT ON heap.sessions TO dpx_analysts;
RESET ROLE;
-- A table dpx_heap does not own: the default privilege does not explain its grant.
CREATE TABLE heap.manual (id bigint);
GRANT SELECT ON heap.manual TO dpx_analysts;
