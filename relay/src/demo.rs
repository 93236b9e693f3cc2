//! The demo shop: an owner, a dozen products with SKUs and a generated picture each, and a
//! live with all of them in its 小黄车. For the README's demo, for trying the studio, and for tests and benchmarks.

use crate::auth::{self, Role};
use std::path::Path;

use crate::commerce::images;
use crate::commerce::lives::{self, CartReplace, NewLive};
use crate::commerce::products::{self, NewProduct, NewSku};
use crate::error::{Error, Result};
use crate::store::Store;

/// A demo product: title, price in fen, SKUs as (name, stock); no SKUs = one default SKU
/// with 100 in stock.
type DemoProduct = (&'static str, i64, &'static [(&'static str, i64)]);

const CATALOGUE: &[DemoProduct] = &[
    (
        "轻薄羽绒服 女款 冬季保暖",
        39_900,
        &[("S", 30), ("M", 50), ("L", 40)],
    ),
    ("纯棉四件套 1.8米床", 29_900, &[("灰色", 60), ("蓝色", 60)]),
    ("不粘锅炒锅 32cm", 15_900, &[]),
    ("无线蓝牙耳机 降噪", 19_900, &[("黑色", 80), ("白色", 80)]),
    ("手工红糖 500g×2袋", 3_990, &[]),
    (
        "保温杯 316不锈钢 500ml",
        6_900,
        &[("雾白", 100), ("墨绿", 100)],
    ),
    ("儿童羊毛袜 5双装", 4_990, &[("3-5岁", 70), ("6-8岁", 70)]),
    ("智能体脂秤", 9_900, &[]),
    ("真丝眼罩 遮光", 5_900, &[]),
    ("新疆阿克苏苹果 5斤装", 3_990, &[]),
    ("电动牙刷 声波", 12_900, &[("粉色", 50), ("蓝色", 50)]),
    ("折叠收纳箱 三件套", 7_900, &[]),
];

#[derive(Debug, Clone)]
pub struct Seeded {
    pub owner: String,
    pub products: usize,
    pub live_id: i64,
}

/// Seeds an empty shop. Refuses a store that already has products: a demo must never
/// mix into a real shop's catalogue.
pub async fn seed(store: &Store, images_dir: &Path, owner_password: &str) -> Result<Seeded> {
    refuse_a_shop_with_products(store).await?;
    auth::create_staff(store, "owner", owner_password, Role::Owner).await?;
    let ids = seed_products(store, images_dir).await?;
    let live = lives::create(
        store,
        &NewLive {
            title: "AnchorDesk 演示直播间".into(),
            stream_name: Some("demo".into()),
        },
    )
    .await?;
    lives::replace_cart(
        store,
        live.id,
        &CartReplace {
            product_ids: ids.clone(),
        },
    )
    .await?;
    Ok(Seeded {
        owner: "owner".into(),
        products: ids.len(),
        live_id: live.id,
    })
}

/// Adds the demo catalogue (a dozen products with SKUs and a generated picture each) to an
/// empty shop; the studio's "load demo products" for trying the console. Returns their ids
/// in catalogue order.
pub async fn seed_products(store: &Store, images_dir: &Path) -> Result<Vec<i64>> {
    refuse_a_shop_with_products(store).await?;
    let mut ids = Vec::with_capacity(CATALOGUE.len());
    for (title, price_fen, skus) in CATALOGUE {
        let new = NewProduct {
            title: (*title).to_owned(),
            description: Some(format!("{title}，直播间专享价。")),
            price_fen: *price_fen,
            stock: skus.is_empty().then_some(100),
            skus: (!skus.is_empty()).then(|| {
                skus.iter()
                    .map(|(name, stock)| NewSku {
                        name: (*name).to_owned(),
                        price_fen: *price_fen,
                        stock: *stock,
                    })
                    .collect()
            }),
        };
        let id = products::create(store, &new).await?.id;
        // Each product its own colours, spread around the hue circle.
        let hue = (ids.len() * 360 / CATALOGUE.len()) as f32;
        let picture = images::generated_png(480, 480, hue_rgb(hue), hue_rgb(hue + 40.0));
        images::add(store, images_dir, id, &picture).await?;
        ids.push(id);
    }
    Ok(ids)
}

/// A demo must never mix into a real shop's catalogue.
async fn refuse_a_shop_with_products(store: &Store) -> Result<()> {
    let existing: i64 = sqlx::query_scalar("select count(*) from products")
        .fetch_one(store.pool())
        .await?;
    if existing > 0 {
        return Err(Error::Conflict(format!(
            "this shop already has {existing} products; demo products go only into an empty one"
        )));
    }
    Ok(())
}

/// A saturated colour for a hue in degrees (HSV with full saturation and value 0.85).
fn hue_rgb(hue: f32) -> [u8; 3] {
    let h = (hue % 360.0) / 60.0;
    let x = 1.0 - (h % 2.0 - 1.0).abs();
    let (r, g, b) = match h as u32 {
        0 => (1.0, x, 0.0),
        1 => (x, 1.0, 0.0),
        2 => (0.0, 1.0, x),
        3 => (0.0, x, 1.0),
        4 => (x, 0.0, 1.0),
        _ => (1.0, 0.0, x),
    };
    let scale = |c: f32| (c * 0.85 * 255.0) as u8;
    [scale(r), scale(g), scale(b)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seeds_a_dozen_products_in_a_live_cart_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &dir.path().join("t.db"))
            .await
            .unwrap();
        let images = dir.path().join("images");
        let seeded = seed(&store, &images, "demo-password").await.unwrap();
        assert_eq!(seeded.products, 12);
        let live = lives::get(&store, seeded.live_id).await.unwrap();
        assert_eq!(live.stream_name, "demo");
        assert_eq!(live.cart.len(), 12);
        assert_eq!(live.cart[0].position, 1);
        assert_eq!(live.cart[0].product.skus.len(), 3);
        for item in &live.cart {
            let picture = &item.product.images[0];
            let file = picture.url.strip_prefix("/images/").unwrap();
            let bytes = std::fs::read(images.join(file)).unwrap();
            assert_eq!(images::inspect(&bytes).unwrap().width, 480);
        }
        let distinct: std::collections::HashSet<_> = live
            .cart
            .iter()
            .map(|i| i.product.images[0].url.clone())
            .collect();
        assert_eq!(distinct.len(), 12, "each product its own picture");
        assert!(matches!(
            seed(&store, &images, "demo-password").await,
            Err(Error::Conflict(_))
        ));
    }
}
