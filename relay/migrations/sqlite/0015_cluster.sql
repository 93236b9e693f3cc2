-- Several relays on one database act as one relay. SQLite serves one relay, so it needs no
-- notifications (the PostgreSQL twin adds a NOTIFY trigger on events); the tables are the
-- same so the code is.

-- Viewer sockets per relay and live; rows not refreshed for a few seconds belong to a relay
-- that is gone and are not counted.
create table relay_presence (
    relay_id text not null,
    live_id integer not null references lives (id) on delete cascade,
    viewers integer not null,
    updated_at_ms integer not null,
    primary key (relay_id, live_id)
);
create table live_viewer_peaks (
    live_id integer primary key references lives (id) on delete cascade,
    peak integer not null
);

-- Which relay receives a stream (its origin), so the others can pull it from there.
create table stream_origins (
    stream_name text primary key,
    relay_id text not null,
    relay_url text not null,
    heartbeat_ms integer not null
);
