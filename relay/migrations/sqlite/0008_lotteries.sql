-- 福袋: the seed is committed at creation (its SHA-256 is public) and revealed at the draw,
-- so anyone can recompute the winners from the seed and the entrant list.
create table lotteries (
    id integer primary key,
    live_id integer not null references lives (id) on delete cascade,
    prize text not null,
    winners integer not null check (winners >= 1),
    keyword text,
    ends_at_ms integer not null,
    seed text not null,
    seed_sha256 text not null,
    status text not null check (status in ('open', 'drawn')),
    created_at_ms integer not null,
    drawn_at_ms integer
);

create table lottery_entries (
    lottery_id integer not null references lotteries (id) on delete cascade,
    viewer_id integer not null references viewers (id),
    joined_at_ms integer not null,
    primary key (lottery_id, viewer_id)
);

-- The primary key is what makes "nobody wins twice" a fact, not a hope.
create table lottery_winners (
    lottery_id integer not null references lotteries (id) on delete cascade,
    viewer_id integer not null references viewers (id),
    rank integer not null,
    primary key (lottery_id, viewer_id)
);
