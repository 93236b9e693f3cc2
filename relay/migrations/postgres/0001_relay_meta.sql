-- PostgreSQL twin of migrations/sqlite: same versions, same tables; integers are bigint so
-- both backends decode to i64.
-- One row describing this relay's data directory. The instance id lets clients (studio,
-- assistant PCs) notice when a URL now points at a different relay.
create table relay_meta (
    id bigint primary key check (id = 1),
    instance_id text not null,
    created_at_ms bigint not null
);

insert into relay_meta (id, instance_id, created_at_ms)
values (1, md5(random()::text || clock_timestamp()::text), cast(extract(epoch from clock_timestamp()) * 1000 as bigint));
