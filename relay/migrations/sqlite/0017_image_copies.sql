-- Twin of the PostgreSQL migration. One relay on SQLite keeps its pictures as files only and
-- leaves this table empty.
create table image_files (
    file_name text primary key,
    bytes blob not null
);
