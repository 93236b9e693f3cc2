-- "仅剩 N 件" on the card and viewer pages at or under this stock; the studio sets it per live.
alter table lives add column low_stock_threshold integer not null default 9;
