-- 优惠券: amount off above a threshold, a limited quantity, a per-buyer limit, a validity window.
create table coupons (
    id integer primary key,
    live_id integer references lives (id) on delete cascade,
    title text not null,
    amount_off_fen integer not null check (amount_off_fen >= 1),
    threshold_fen integer not null check (threshold_fen >= 0),
    quantity integer not null check (quantity >= 1),
    claimed integer not null default 0,
    per_user_limit integer not null check (per_user_limit >= 1),
    valid_from_ms integer not null,
    valid_until_ms integer not null,
    created_at_ms integer not null,
    check (claimed >= 0 and claimed <= quantity),
    check (valid_until_ms > valid_from_ms)
);

-- One row per coupon a buyer holds; used_order_id is set while an order uses it.
create table coupon_claims (
    id integer primary key,
    coupon_id integer not null references coupons (id) on delete cascade,
    viewer_id integer not null references viewers (id),
    claimed_at_ms integer not null,
    used_order_id integer references orders (id)
);
create index coupon_claims_by_viewer on coupon_claims (viewer_id, coupon_id);

alter table orders add column discount_fen integer not null default 0;
alter table orders add column coupon_claim_id integer references coupon_claims (id);
