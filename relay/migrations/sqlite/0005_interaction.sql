-- Comments (danmaku) are stored one by one as they are posted; their events are batched.
create table comments (
    id integer primary key,
    live_id integer not null references lives (id) on delete cascade,
    viewer_id integer not null references viewers (id),
    nickname text not null,
    body text not null,
    hidden integer not null default 0 check (hidden in (0, 1)),
    created_at_ms integer not null
);
create index comments_by_live on comments (live_id, id);

-- Likes are counted, not stored one by one.
create table live_likes (
    live_id integer primary key references lives (id) on delete cascade,
    total integer not null check (total >= 0)
);
