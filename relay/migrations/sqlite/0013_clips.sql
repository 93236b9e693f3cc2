-- 看讲解 replay clips: one row per closed pin window the relay has dealt with. A row is
-- written only after its file is in place, so a crash mid-cut leaves no row and the window
-- is cut again at the next start. `unavailable`: no recording covers the window.
create table clips (
    id integer primary key,
    pin_id integer not null unique references pins (id) on delete cascade,
    live_id integer not null references lives (id) on delete cascade,
    product_id integer not null references products (id),
    status text not null check (status in ('ready', 'failed', 'unavailable')),
    recording text,
    file text,
    starts_at_ms integer,
    duration_ms integer,
    size_bytes integer,
    error text,
    created_at_ms integer not null
);
create index clips_by_live on clips (live_id, product_id);
create index clips_by_recording on clips (recording);
