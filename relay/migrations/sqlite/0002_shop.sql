-- Staff accounts, viewers, sessions, products with SKUs, lives with their cart, pins and the
-- per-live event log. Times are unix milliseconds; money is integer fen.

create table staff (
    id integer primary key,
    username text not null unique,
    password_hash text not null,
    role text not null check (role in ('owner', 'anchor', 'assistant')),
    created_at_ms integer not null
);

create table viewers (
    id integer primary key,
    nickname text not null,
    muted_until_ms integer,
    created_at_ms integer not null
);

-- Bearer tokens are stored as SHA-256 hashes: a leaked database does not leak sessions.
create table sessions (
    token_hash text primary key,
    staff_id integer references staff (id) on delete cascade,
    viewer_id integer references viewers (id) on delete cascade,
    created_at_ms integer not null,
    expires_at_ms integer not null,
    check ((staff_id is null) <> (viewer_id is null))
);

create table products (
    id integer primary key,
    title text not null,
    description text not null,
    price_fen integer not null check (price_fen >= 0),
    status text not null check (status in ('active', 'archived')),
    created_at_ms integer not null,
    updated_at_ms integer not null
);

create table skus (
    id integer primary key,
    product_id integer not null references products (id) on delete cascade,
    name text not null,
    price_fen integer not null check (price_fen >= 0),
    stock integer not null check (stock >= 0),
    unique (product_id, name)
);

create table lives (
    id integer primary key,
    title text not null,
    stream_name text not null unique,
    status text not null check (status in ('scheduled', 'live', 'ended')),
    created_at_ms integer not null,
    started_at_ms integer,
    ended_at_ms integer
);

-- The 小黄车: products of a live in the order viewers see them (position 1 = "1号链接").
create table live_products (
    live_id integer not null references lives (id) on delete cascade,
    product_id integer not null references products (id),
    position integer not null check (position >= 1),
    primary key (live_id, product_id),
    unique (live_id, position)
);

-- Each 讲解 window; ended_at_ms is null while the product is pinned.
create table pins (
    id integer primary key,
    live_id integer not null references lives (id) on delete cascade,
    product_id integer not null references products (id),
    selling_point text not null,
    started_at_ms integer not null,
    ended_at_ms integer
);
create unique index pins_one_open_per_live on pins (live_id) where ended_at_ms is null;

-- One ordered log per live; clients resume with after=<id>. Staff events never reach viewers.
create table events (
    id integer primary key autoincrement,
    live_id integer not null references lives (id) on delete cascade,
    kind text not null,
    audience text not null check (audience in ('public', 'staff')),
    payload text not null,
    created_at_ms integer not null
);
create index events_by_live on events (live_id, id);
