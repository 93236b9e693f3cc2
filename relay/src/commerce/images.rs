//! Product pictures. An upload is checked to really be a PNG, JPEG or WebP picture of sane
//! size (its header is parsed, not trusted from the Content-Type), stored once under its
//! SHA-256 in the data directory's `images/` folder, and listed on the product in order.
//! Pictures are served at `/images/<sha256>.<ext>`: the name is the content, so the URL can
//! be cached forever by browsers and a CDN.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{ImageFormat, ImageReader};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::error::{Error, Result, now_ms};
use crate::store::{Conn, Store, StoreError};

/// Bigger than any phone photo a merchant would upload as it is; a 10 MB body is refused.
pub const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;
/// Pixels per side: more is a poster, not a product picture, and costs memory to decode.
pub const MAX_SIDE: u32 = 8000;
/// Shops show up to nine pictures per product (九宫格).
pub const MAX_IMAGES_PER_PRODUCT: i64 = 9;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct ProductImage {
    pub id: i64,
    /// Relative to the relay, e.g. `/images/3f…a1.png`.
    pub url: String,
    pub content_type: String,
    pub width: i64,
    pub height: i64,
}

/// What an upload turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub extension: &'static str,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Checks that `bytes` is a PNG, JPEG or WebP picture within limits, from its own header.
pub fn inspect(bytes: &[u8]) -> Result<Inspected> {
    if bytes.is_empty() {
        return Err(Error::invalid("image", "the body is empty"));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(Error::TooLarge {
            field: "image".into(),
            limit_bytes: MAX_IMAGE_BYTES,
        });
    }
    let format = image::guess_format(bytes)
        .map_err(|_| Error::invalid("image", "not a PNG, JPEG or WebP picture"))?;
    let (extension, content_type) = match format {
        ImageFormat::Png => ("png", "image/png"),
        ImageFormat::Jpeg => ("jpg", "image/jpeg"),
        ImageFormat::WebP => ("webp", "image/webp"),
        other => {
            return Err(Error::invalid(
                "image",
                format!("{other:?} pictures are not accepted; use PNG, JPEG or WebP"),
            ));
        }
    };
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| Error::invalid("image", format!("unreadable picture: {e}")))?;
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(Error::invalid(
            "image",
            format!("must be 1–{MAX_SIDE} pixels per side, got {width}×{height}"),
        ));
    }
    Ok(Inspected {
        extension,
        content_type,
        width,
        height,
    })
}

/// `<64 hex>.<png|jpg|webp>` and nothing else: the only names `/images/…` serves, so a
/// request can never reach outside the folder.
pub fn is_image_file_name(name: &str) -> bool {
    let Some((hash, ext)) = name.split_once('.') else {
        return false;
    };
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && matches!(ext, "png" | "jpg" | "webp")
}

pub fn content_type_of(file_name: &str) -> &'static str {
    match file_name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "image/jpeg",
    }
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| {
        Error::Store(StoreError::File {
            path: path.to_owned(),
            source,
        })
    }
}

/// Stores the file (once per content) and returns its name, and whether this call wrote it.
/// Written to a temporary name and renamed, so a crash never leaves a half-written picture
/// under a served name.
async fn store_file(dir: &Path, bytes: &[u8], kind: &Inspected) -> Result<(String, bool)> {
    let name = format!("{}.{}", hex::encode(Sha256::digest(bytes)), kind.extension);
    let path = dir.join(&name);
    if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok((name, false));
    }
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(file_error(dir))?;
    let partial = dir.join(format!(".{name}.{}", crate::auth::random_hex(4)));
    tokio::fs::write(&partial, bytes)
        .await
        .map_err(file_error(&partial))?;
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(file_error(&path))?;
    Ok((name, true))
}

/// Adds a picture at the end of a product's list.
pub async fn add(store: &Store, dir: &Path, product_id: i64, bytes: &[u8]) -> Result<ProductImage> {
    let kind = inspect(bytes)?;
    let mut tx = store.begin_write().await?;
    // A file this upload wrote goes again if the upload is then refused or fails, so nothing
    // is left behind. Under the write lock, so another upload of the same picture cannot
    // start using the file in between.
    let mut written = None;
    let added = match add_in(&mut tx, dir, product_id, bytes, &kind, &mut written).await {
        Ok(image) => tx.commit().await.map(|()| image).map_err(Error::from),
        Err(e) => Err(e),
    };
    if added.is_err()
        && let Some(name) = written
    {
        let _ = tokio::fs::remove_file(dir.join(name)).await;
    }
    added
}

async fn add_in(
    tx: &mut Conn,
    dir: &Path,
    product_id: i64,
    bytes: &[u8],
    kind: &Inspected,
    written: &mut Option<String>,
) -> Result<ProductImage> {
    let exists: Option<i64> = sqlx::query_scalar("select id from products where id = $1")
        .bind(product_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(Error::NotFound(format!("product {product_id}")));
    }
    let (count, last): (i64, i64) = sqlx::query_as(
        "select count(*), coalesce(max(position), 0) from product_images where product_id = $1",
    )
    .bind(product_id)
    .fetch_one(&mut *tx)
    .await?;
    if count >= MAX_IMAGES_PER_PRODUCT {
        return Err(Error::Conflict(format!(
            "product {product_id} already has {MAX_IMAGES_PER_PRODUCT} pictures; remove one first"
        )));
    }
    // The file before the row: a row never names a missing file.
    let (file_name, new_file) = store_file(dir, bytes, kind).await?;
    if new_file {
        *written = Some(file_name.clone());
    }
    if shared_with_other_relays(tx) {
        sqlx::query(
            "insert into image_files (file_name, bytes) values ($1, $2) on conflict (file_name) do nothing",
        )
        .bind(&file_name)
        .bind(bytes)
        .execute(&mut *tx)
        .await?;
    }
    let id: i64 = sqlx::query_scalar(
        "insert into product_images \
         (product_id, position, file_name, content_type, width, height, bytes, created_at_ms) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
    )
    .bind(product_id)
    .bind(last + 1)
    .bind(&file_name)
    .bind(kind.content_type)
    .bind(i64::from(kind.width))
    .bind(i64::from(kind.height))
    .bind(bytes.len() as i64)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("update products set updated_at_ms = $1 where id = $2")
        .bind(now_ms())
        .bind(product_id)
        .execute(&mut *tx)
        .await?;
    Ok(ProductImage {
        id,
        url: format!("/images/{file_name}"),
        content_type: kind.content_type.to_owned(),
        width: i64::from(kind.width),
        height: i64::from(kind.height),
    })
}

/// Removes a picture from a product; the file goes too once no product uses it.
pub async fn remove(store: &Store, dir: &Path, product_id: i64, image_id: i64) -> Result<()> {
    let mut tx = store.begin_write().await?;
    let file_name: Option<String> = sqlx::query_scalar(
        "delete from product_images where id = $1 and product_id = $2 returning file_name",
    )
    .bind(image_id)
    .bind(product_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(file_name) = file_name else {
        return Err(Error::NotFound(format!(
            "image {image_id} of product {product_id}"
        )));
    };
    let still_used: i64 =
        sqlx::query_scalar("select count(*) from product_images where file_name = $1")
            .bind(&file_name)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("update products set updated_at_ms = $1 where id = $2")
        .bind(now_ms())
        .bind(product_id)
        .execute(&mut *tx)
        .await?;
    if still_used == 0 {
        sqlx::query("delete from image_files where file_name = $1")
            .bind(&file_name)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    if still_used == 0 {
        let path = dir.join(&file_name);
        if let Err(e) = tokio::fs::remove_file(&path).await {
            tracing::warn!(path = %path.display(), "could not remove unused picture: {e}");
        }
    }
    Ok(())
}

/// On PostgreSQL other relays may share the database: they need the picture's bytes.
fn shared_with_other_relays(conn: &Conn) -> bool {
    conn.backend_name() == "PostgreSQL"
}

/// The bytes of a picture this relay has no file of: another relay on the same database
/// stored it. Kept as a file here from now on (best effort: a failed write only costs a read
/// next time).
pub async fn fetch_shared(store: &Store, dir: &Path, file_name: &str) -> Result<Option<Vec<u8>>> {
    if store.backend() != crate::store::Backend::Postgres {
        return Ok(None);
    }
    let bytes: Option<Vec<u8>> =
        sqlx::query_scalar("select bytes from image_files where file_name = $1")
            .bind(file_name)
            .fetch_optional(store.pool())
            .await?;
    if let Some(bytes) = &bytes
        && let Ok(kind) = inspect(bytes)
        && let Err(e) = store_file(dir, bytes, &kind).await
    {
        tracing::warn!(file_name, "picture not kept locally: {e}");
    }
    Ok(bytes)
}

/// A product's pictures in display order.
pub async fn for_product(conn: &mut Conn, product_id: i64) -> Result<Vec<ProductImage>> {
    Ok(sqlx::query_as::<_, (i64, String, String, i64, i64)>(
        "select id, file_name, content_type, width, height from product_images \
         where product_id = $1 order by position",
    )
    .bind(product_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(
        |(id, file_name, content_type, width, height)| ProductImage {
            id,
            url: format!("/images/{file_name}"),
            content_type,
            width,
            height,
        },
    )
    .collect())
}

/// Where a served name lives, or `None` for any name that is not one of ours.
pub fn path_of(dir: &Path, file_name: &str) -> Option<PathBuf> {
    is_image_file_name(file_name).then(|| dir.join(file_name))
}

/// A simple PNG for demos and tests: a diagonal two-colour gradient with a lighter square in
/// the middle, so generated products look different from one another.
pub fn generated_png(width: u32, height: u32, from: [u8; 3], to: [u8; 3]) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        let t = (x + y) as f32 / (width + height).max(1) as f32;
        let mix = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t) as u8;
        let centre = x > width / 4 && x < width * 3 / 4 && y > height / 4 && y < height * 3 / 4;
        let lift = |c: u8| if centre { c.saturating_add(60) } else { c };
        image::Rgb([
            lift(mix(from[0], to[0])),
            lift(mix(from[1], to[1])),
            lift(mix(from[2], to[2])),
        ])
    });
    let mut out = Cursor::new(Vec::new());
    picture
        .write_to(&mut out, ImageFormat::Png)
        .expect("encoding a PNG in memory cannot fail");
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_is_recognised_from_its_bytes_with_its_size() {
        let png = generated_png(64, 48, [200, 30, 30], [30, 30, 200]);
        let kind = inspect(&png).unwrap();
        assert_eq!(kind.content_type, "image/png");
        assert_eq!((kind.width, kind.height), (64, 48));
    }

    #[test]
    fn text_empty_and_truncated_bodies_are_refused_naming_the_field() {
        for bad in [
            b"hello, not a picture".to_vec(),
            Vec::new(),
            generated_png(64, 48, [0, 0, 0], [9, 9, 9])[..20].to_vec(),
        ] {
            match inspect(&bad) {
                Err(Error::InvalidField { field, .. }) => assert_eq!(field, "image"),
                other => panic!("expected invalid image, got {other:?}"),
            }
        }
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
        assert!(matches!(inspect(&gif), Err(Error::InvalidField { .. })));
    }

    #[test]
    fn over_the_byte_limit_is_too_large() {
        let big = vec![0u8; MAX_IMAGE_BYTES + 1];
        assert!(matches!(inspect(&big), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn only_content_addressed_names_are_served() {
        let good = format!("{}.png", "a".repeat(64));
        assert!(is_image_file_name(&good));
        for bad in [
            "../relay.db".to_owned(),
            format!("{}.png", "A".repeat(64)),
            format!("{}.exe", "a".repeat(64)),
            format!("{}.png.png", "a".repeat(64)),
            format!("{}.png", "a".repeat(63)),
            "x".to_owned(),
        ] {
            assert!(!is_image_file_name(&bad), "{bad}");
        }
    }
}
