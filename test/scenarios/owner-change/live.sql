CREATE ROLE oc_old;
CREATE ROLE oc_new;
CREATE SCHEMA vendor AUTHORIZATION oc_old;
CREATE TABLE vendor.t (id bigint);
ALTER TABLE vendor.t OWNER TO oc_old;
