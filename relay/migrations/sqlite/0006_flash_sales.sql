-- 秒杀: units are moved from the SKU's stock into the sale when it is created (reserved),
-- sold from `remaining` at the sale price, and whatever is left goes back when it closes.
create table flash_sales (
    id integer primary key,
    live_id integer not null references lives (id) on delete cascade,
    sku_id integer not null references skus (id),
    sale_price_fen integer not null check (sale_price_fen >= 0),
    quantity integer not null check (quantity >= 1),
    remaining integer not null check (remaining >= 0),
    per_user_limit integer not null check (per_user_limit >= 1),
    starts_at_ms integer not null,
    ends_at_ms integer not null,
    status text not null check (status in ('open', 'closed')),
    created_at_ms integer not null,
    check (ends_at_ms > starts_at_ms)
);
create index flash_sales_open on flash_sales (live_id, sku_id) where status = 'open';

-- How many units each buyer holds in a sale, for the per-user limit.
create table flash_sale_buyers (
    flash_sale_id integer not null references flash_sales (id) on delete cascade,
    viewer_id integer not null references viewers (id),
    quantity integer not null check (quantity >= 0),
    primary key (flash_sale_id, viewer_id)
);

alter table order_items add column flash_sale_id integer references flash_sales (id);
