//! Products and their SKUs (specs with their own price and stock). Money is integer fen.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use super::Changed;
use super::images::ProductImage;
use super::pin_rules;
use crate::error::{Error, Result, check_range, check_text, now_ms};
use crate::events::{self, LiveEvent, SkuStock};
use crate::store::{Conn, Store};

/// ¥1,000,000: above this a price is a typo, not a product.
pub const MAX_PRICE_FEN: i64 = 100_000_000;
pub const MAX_STOCK: i64 = 10_000_000;
const MAX_SKUS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ProductStatus {
    /// On sale.
    Active,
    /// Hidden from carts and new orders; kept for order history.
    Archived,
}

impl ProductStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }
    fn parse(s: &str) -> Self {
        if s == "archived" {
            Self::Archived
        } else {
            Self::Active
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Sku {
    pub id: i64,
    pub name: String,
    pub price_fen: i64,
    pub stock: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct Product {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// The price shown on cards; each SKU carries its own.
    pub price_fen: i64,
    pub status: ProductStatus,
    pub skus: Vec<Sku>,
    /// Pictures in display order; the first is the card's main picture (主图).
    pub images: Vec<ProductImage>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Product {
    pub fn total_stock(&self) -> i64 {
        self.skus.iter().map(|s| s.stock).sum()
    }
}

#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewSku {
    pub name: String,
    pub price_fen: i64,
    pub stock: i64,
}

/// `POST /api/products`. Without `skus`, one SKU named "默认" gets `price_fen` and `stock`.
#[derive(Debug, Clone, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct NewProduct {
    pub title: String,
    #[serde(default)]
    #[ts(optional)]
    pub description: Option<String>,
    pub price_fen: i64,
    #[serde(default)]
    #[ts(optional)]
    pub stock: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub skus: Option<Vec<NewSku>>,
}

/// `PATCH /api/products/{id}`: only the given fields change.
#[derive(Debug, Clone, Default, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct ProductPatch {
    #[serde(default)]
    #[ts(optional)]
    pub title: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub description: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub price_fen: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub status: Option<ProductStatus>,
}

/// `PATCH /api/products/{id}/skus/{sku_id}`: change price or stock during the live.
#[derive(Debug, Clone, Default, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct SkuPatch {
    #[serde(default)]
    #[ts(optional)]
    pub price_fen: Option<i64>,
    #[serde(default)]
    #[ts(optional)]
    pub stock: Option<i64>,
}

fn check_title(title: &str) -> Result<()> {
    // Platforms cap product titles at 60 characters; longer ones are cut on phones anyway.
    check_text("title", title, 1, 60)
}

fn check_description(description: &str) -> Result<()> {
    check_text("description", description, 0, 5000)
}

fn check_price(field: &str, price: i64) -> Result<()> {
    check_range(field, price, 0, MAX_PRICE_FEN)
}

fn validate(new: &NewProduct) -> Result<Vec<NewSku>> {
    check_title(&new.title)?;
    check_description(new.description.as_deref().unwrap_or_default())?;
    check_price("price_fen", new.price_fen)?;
    let skus = match &new.skus {
        Some(skus) => {
            if new.stock.is_some() {
                return Err(Error::invalid(
                    "stock",
                    "give stock per SKU when skus are listed",
                ));
            }
            if skus.is_empty() || skus.len() > MAX_SKUS {
                return Err(Error::invalid(
                    "skus",
                    format!("must list 1–{MAX_SKUS} SKUs"),
                ));
            }
            skus.clone()
        }
        None => vec![NewSku {
            name: "默认".into(),
            price_fen: new.price_fen,
            stock: new.stock.unwrap_or(0),
        }],
    };
    let mut names = std::collections::HashSet::new();
    for (i, sku) in skus.iter().enumerate() {
        check_text(&format!("skus[{i}].name"), &sku.name, 1, 40)?;
        check_price(&format!("skus[{i}].price_fen"), sku.price_fen)?;
        let stock_field = if new.skus.is_some() {
            format!("skus[{i}].stock")
        } else {
            "stock".to_owned()
        };
        check_range(&stock_field, sku.stock, 0, MAX_STOCK)?;
        if !names.insert(sku.name.trim()) {
            return Err(Error::invalid(
                format!("skus[{i}].name"),
                "duplicate SKU name",
            ));
        }
    }
    Ok(skus)
}

pub async fn create(store: &Store, new: &NewProduct) -> Result<Product> {
    let skus = validate(new)?;
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into products (title, description, price_fen, status, created_at_ms, updated_at_ms) \
         values ($1, $2, $3, 'active', $4, $4) returning id",
    )
    .bind(new.title.trim())
    .bind(new.description.as_deref().unwrap_or_default())
    .bind(new.price_fen)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    for sku in &skus {
        sqlx::query(
            "insert into skus (product_id, name, price_fen, stock) values ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(sku.name.trim())
        .bind(sku.price_fen)
        .bind(sku.stock)
        .execute(&mut *tx)
        .await?;
    }
    let product = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(product)
}

/// Loads one product with its SKUs on an open connection or transaction.
pub async fn load(conn: &mut Conn, id: i64) -> Result<Product> {
    let row: Option<(i64, String, String, i64, String, i64, i64)> = sqlx::query_as(
        "select id, title, description, price_fen, status, created_at_ms, updated_at_ms \
         from products where id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, title, description, price_fen, status, created_at_ms, updated_at_ms)) = row
    else {
        return Err(Error::NotFound(format!("product {id}")));
    };
    let skus = sqlx::query_as::<_, (i64, String, i64, i64)>(
        "select id, name, price_fen, stock from skus where product_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(id, name, price_fen, stock)| Sku {
        id,
        name,
        price_fen,
        stock,
    })
    .collect();
    Ok(Product {
        id,
        title,
        description,
        price_fen,
        status: ProductStatus::parse(&status),
        skus,
        images: super::images::for_product(conn, id).await?,
        created_at_ms,
        updated_at_ms,
    })
}

pub async fn get(store: &Store, id: i64) -> Result<Product> {
    let mut conn = store.pool().acquire().await?;
    load(&mut conn, id).await
}

/// All products, newest first; archived ones only when asked (staff catalogue).
pub async fn list(store: &Store, include_archived: bool) -> Result<Vec<Product>> {
    let mut conn = store.pool().acquire().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "select id from products where status = 'active' or $1 order by id desc",
    )
    .bind(include_archived)
    .fetch_all(&mut *conn)
    .await?;
    let mut products = Vec::with_capacity(ids.len());
    for id in ids {
        products.push(load(&mut conn, id).await?);
    }
    Ok(products)
}

pub async fn update(store: &Store, id: i64, patch: &ProductPatch) -> Result<Product> {
    if let Some(title) = &patch.title {
        check_title(title)?;
    }
    if let Some(description) = &patch.description {
        check_description(description)?;
    }
    if let Some(price) = patch.price_fen {
        check_price("price_fen", price)?;
    }
    let mut tx = store.begin_write().await?;
    let current = load(&mut tx, id).await?;
    sqlx::query(
        "update products set title = $1, description = $2, price_fen = $3, status = $4, updated_at_ms = $5 \
         where id = $6",
    )
    .bind(patch.title.as_deref().map(str::trim).unwrap_or(&current.title))
    .bind(patch.description.as_deref().unwrap_or(&current.description))
    .bind(patch.price_fen.unwrap_or(current.price_fen))
    .bind(patch.status.unwrap_or(current.status).as_str())
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let product = load(&mut tx, id).await?;
    tx.commit().await?;
    Ok(product)
}

/// Changes one SKU's price or stock (e.g. 补货 during the live). A stock change is told to
/// every live not ended whose cart holds the product (`stock.changed`), as an order's is, so
/// viewer pages and the studio's card follow it.
pub async fn update_sku(
    store: &Store,
    product_id: i64,
    sku_id: i64,
    patch: &SkuPatch,
) -> Result<Changed<Product>> {
    if let Some(price) = patch.price_fen {
        check_price("price_fen", price)?;
    }
    if let Some(stock) = patch.stock {
        check_range("stock", stock, 0, MAX_STOCK)?;
    }
    let mut tx = store.begin_write().await?;
    let changed = sqlx::query(
        "update skus set price_fen = coalesce($1, price_fen), stock = coalesce($2, stock) \
         where id = $3 and product_id = $4",
    )
    .bind(patch.price_fen)
    .bind(patch.stock)
    .bind(sku_id)
    .bind(product_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::NotFound(format!(
            "SKU {sku_id} of product {product_id}"
        )));
    }
    sqlx::query("update products set updated_at_ms = $1 where id = $2")
        .bind(now_ms())
        .bind(product_id)
        .execute(&mut *tx)
        .await?;
    let product = load(&mut tx, product_id).await?;
    let mut events = Vec::new();
    if let Some(stock) = patch.stock {
        let lives: Vec<i64> = sqlx::query_scalar(
            "select lp.live_id from live_products lp join lives l on l.id = lp.live_id \
             where lp.product_id = $1 and l.status <> 'ended'",
        )
        .bind(product_id)
        .fetch_all(&mut *tx)
        .await?;
        let skus = [SkuStock {
            sku_id,
            product_id,
            stock,
        }];
        for live_id in lives {
            let event = LiveEvent::StockChanged {
                skus: skus.to_vec(),
            };
            events.push(events::append(&mut tx, live_id, event).await?);
            events.extend(pin_rules::after_stock_fell(&mut tx, live_id, &skus).await?);
        }
    }
    tx.commit().await?;
    Ok(Changed {
        value: product,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(title: &str, price_fen: i64) -> NewProduct {
        NewProduct {
            title: title.into(),
            description: None,
            price_fen,
            stock: Some(10),
            skus: None,
        }
    }

    fn field(err: Error) -> String {
        match err {
            Error::InvalidField { field, .. } => field,
            other => panic!("expected InvalidField, got {other}"),
        }
    }

    #[test]
    fn validation_names_the_offending_field() {
        assert_eq!(field(validate(&new("", 100)).unwrap_err()), "title");
        assert_eq!(
            field(validate(&new(&"长".repeat(61), 100)).unwrap_err()),
            "title"
        );
        assert_eq!(field(validate(&new("裙子", -1)).unwrap_err()), "price_fen");
        let mut bad_sku = new("裙子", 100);
        bad_sku.stock = None;
        bad_sku.skus = Some(vec![
            NewSku {
                name: "S".into(),
                price_fen: 100,
                stock: 1,
            },
            NewSku {
                name: "M".into(),
                price_fen: 100,
                stock: -5,
            },
        ]);
        assert_eq!(field(validate(&bad_sku).unwrap_err()), "skus[1].stock");
    }

    #[tokio::test]
    async fn product_without_skus_gets_a_default_sku_and_can_be_edited() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &dir.path().join("t.db"))
            .await
            .unwrap();
        let created = create(&store, &new("真丝连衣裙", 29_900)).await.unwrap();
        assert_eq!(created.skus.len(), 1);
        assert_eq!(created.skus[0].name, "默认");
        assert_eq!(created.total_stock(), 10);

        let sku = created.skus[0].id;
        let restocked = update_sku(
            &store,
            created.id,
            sku,
            &SkuPatch {
                price_fen: None,
                stock: Some(50),
            },
        )
        .await
        .unwrap();
        assert_eq!(restocked.value.skus[0].stock, 50);
        assert!(restocked.events.is_empty(), "in no live's cart");

        let archived = update(
            &store,
            created.id,
            &ProductPatch {
                status: Some(ProductStatus::Archived),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(archived.status, ProductStatus::Archived);
        assert!(list(&store, false).await.unwrap().is_empty());
        assert_eq!(list(&store, true).await.unwrap().len(), 1);
        assert!(matches!(get(&store, 999).await, Err(Error::NotFound(_))));
    }
}
