-- Orders placed by viewers. The same (viewer, idempotency key) always means the same order.
create table orders (
    id integer primary key,
    viewer_id integer not null references viewers (id),
    live_id integer references lives (id),
    idempotency_key text not null,
    status text not null
        check (status in ('created', 'paid', 'shipped', 'completed', 'cancelled', 'refunded')),
    total_fen integer not null check (total_fen >= 0),
    recipient_name text not null,
    phone text not null,
    address text not null,
    created_at_ms integer not null,
    expires_at_ms integer not null,
    paid_at_ms integer,
    closed_at_ms integer,
    unique (viewer_id, idempotency_key)
);
create index orders_by_live on orders (live_id, id);
create index orders_unpaid_expiry on orders (expires_at_ms) where status = 'created';

-- Title, SKU name and price are copied at order time: later edits do not rewrite history.
create table order_items (
    order_id integer not null references orders (id) on delete cascade,
    sku_id integer not null references skus (id),
    product_id integer not null references products (id),
    title text not null,
    sku_name text not null,
    unit_price_fen integer not null check (unit_price_fen >= 0),
    quantity integer not null check (quantity >= 1),
    primary key (order_id, sku_id)
);
