CREATE SCHEMA heap;
CREATE TABLE heap.pageviews (user_id bigint, time timestamp);
CREATE TABLE heap.sessions (user_id bigint, time timestamp);
CREATE ROLE pf_analysts;
GRANT SELECT ON heap.pageviews TO pf_analysts;
