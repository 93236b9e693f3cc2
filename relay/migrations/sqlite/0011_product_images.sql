-- Product pictures (主图). The files live in the data directory's images/ folder under their
-- SHA-256, so the same picture uploaded twice is stored once and its URL never changes
-- (served as immutable, which lets a CDN keep it forever).
create table product_images (
    id integer primary key,
    product_id integer not null references products (id) on delete cascade,
    position integer not null check (position >= 1),
    file_name text not null,
    content_type text not null,
    width integer not null check (width >= 1),
    height integer not null check (height >= 1),
    bytes integer not null check (bytes >= 1),
    created_at_ms integer not null,
    unique (product_id, position)
);

create index product_images_by_file on product_images (file_name);
