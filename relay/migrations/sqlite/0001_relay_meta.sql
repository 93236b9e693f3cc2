-- One row describing this relay's data directory. The instance id lets clients (studio,
-- assistant PCs) notice when a URL now points at a different relay.
create table relay_meta (
    id integer primary key check (id = 1),
    instance_id text not null,
    created_at_ms integer not null
);

insert into relay_meta (id, instance_id, created_at_ms)
values (1, lower(hex(randomblob(16))), cast(unixepoch('subsec') * 1000 as integer));
