-- Several relays on one database act as one relay.

-- Every relay learns of a committed event at once: NOTIFY is delivered at commit, in commit
-- order, to every listening session. The payload is only a wake-up (`live:id:kind`); relays
-- read the event itself from the log after the last id they saw, so a lost notification
-- costs latency, never an event.
create function anchordesk_event_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('anchordesk_events', new.live_id || ':' || new.id || ':' || new.kind);
    return null;
end
$$;
create trigger events_notify after insert on events
    for each row execute function anchordesk_event_notify();

-- Viewer sockets per relay and live; rows not refreshed for a few seconds belong to a relay
-- that is gone and are not counted.
create table relay_presence (
    relay_id text not null,
    live_id bigint not null references lives (id) on delete cascade,
    viewers bigint not null,
    updated_at_ms bigint not null,
    primary key (relay_id, live_id)
);
create table live_viewer_peaks (
    live_id bigint primary key references lives (id) on delete cascade,
    peak bigint not null
);

-- Which relay receives a stream (its origin), so the others can pull it from there. A
-- heartbeat older than a few seconds means the origin is gone.
create table stream_origins (
    stream_name text primary key,
    relay_id text not null,
    relay_url text not null,
    heartbeat_ms bigint not null
);
