CREATE SCHEMA toplyne;
CREATE TABLE toplyne.events (user_id bigint NOT NULL, "timestamp" timestamp NOT NULL) PARTITION BY RANGE ("timestamp");
CREATE TABLE toplyne.events_p2026_10 PARTITION OF toplyne.events FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
CREATE TABLE toplyne.events_november PARTITION OF toplyne.events FOR VALUES FROM ('2026-11-01') TO ('2026-12-01');
CREATE TABLE toplyne.events_p2020_01 PARTITION OF toplyne.events FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
