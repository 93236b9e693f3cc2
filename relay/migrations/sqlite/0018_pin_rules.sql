-- The 讲解 rules of a live (0 off, 1 on), kept with the live so that they run once, in the
-- transaction that makes them true, whichever relay or studio is connected: a sold-out pin
-- gives way to the next product with stock; a product viewers keep asking about is pinned.
alter table lives add column next_when_sold_out integer not null default 0;
alter table lives add column pin_when_asked integer not null default 0;
