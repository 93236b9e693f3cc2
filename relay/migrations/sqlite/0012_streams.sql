-- Media streams: what a publisher pushes to (WHIP /whip/{name}, RTMP live/{name}) and viewers
-- watch (WHEP, HLS). The publish key is shown once and stored only as its SHA-256.
create table streams (
    id integer primary key,
    name text not null unique,
    key_hash text not null,
    created_at_ms integer not null,
    key_set_at_ms integer not null
);
