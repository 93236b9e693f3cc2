-- Every staff action: who, what, when, and the state before/after where it changed.
create table audit_log (
    id integer primary key,
    staff_id integer not null,
    username text not null,
    action text not null,
    target text not null,
    detail text not null,
    at_ms integer not null
);
create index audit_log_by_time on audit_log (at_ms);
