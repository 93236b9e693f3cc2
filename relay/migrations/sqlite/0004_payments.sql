-- Payments received for orders. (provider, reference) is unique, so a gateway that repeats
-- its callback, or staff pressing "paid" twice, records one payment.
create table payments (
    id integer primary key,
    order_id integer not null references orders (id),
    provider text not null,
    reference text not null,
    amount_fen integer not null check (amount_fen >= 0),
    received_at_ms integer not null,
    unique (provider, reference)
);
