-- Product clicks per live (a viewer opening a product's card): the denominator of conversion.
create table live_product_clicks (
    live_id bigint not null references lives (id) on delete cascade,
    product_id bigint not null references products (id),
    clicks bigint not null check (clicks >= 0),
    primary key (live_id, product_id)
);
