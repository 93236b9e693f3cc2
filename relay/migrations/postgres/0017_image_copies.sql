-- Product pictures are files in each relay's data directory. Several relays on one database
-- each serve every picture: the bytes are kept here too, and a relay that lacks a file takes
-- it from here (and keeps a copy).
create table image_files (
    file_name text primary key,
    bytes bytea not null
);
