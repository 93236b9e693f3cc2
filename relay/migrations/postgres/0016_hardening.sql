-- Limits keyed on what a buyer cannot multiply cheaply (README, "Limits").

-- GCRA rate limits shared by every relay on this database: `tat_ms` is the key's theoretical
-- arrival time; a request passes while it is at most the burst tolerance ahead of now.
create table rate_limits (
    limit_key text primary key,
    tat_ms bigint not null
);

-- The address a comment came from: a mute follows it, and "pin when asked" counts addresses.
alter table comments add column client_ip text;
create index comments_by_viewer on comments (viewer_id, id);

-- An address that is muted until then (set with the mute of a viewer who commented from it).
create table muted_addresses (
    client_ip text primary key,
    muted_until_ms bigint not null
);

-- Coupon claims and lottery entries remember the address + device they came from.
alter table coupon_claims add column client_key text;
create index coupon_claims_by_client on coupon_claims (coupon_id, client_key);
alter table lottery_entries add column client_key text;
create index lottery_entries_by_client on lottery_entries (lottery_id, client_key);

-- 秒杀 units per phone number at checkout, beside the per-viewer count.
create table flash_sale_phones (
    flash_sale_id bigint not null references flash_sales (id) on delete cascade,
    phone text not null,
    quantity bigint not null check (quantity >= 0),
    primary key (flash_sale_id, phone)
);
