//! `/api/products`: the catalogue. Anyone reads active products; staff manage them.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::{Caller, Staff};
use super::{AppJson, AppPath, AppState, Error, Result};
use crate::commerce::products::{self, NewProduct, Product, ProductPatch, ProductStatus, SkuPatch};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/products", get(list).post(create))
        .route("/api/products/{id}", get(show).patch(update))
        .route("/api/products/{id}/skus/{sku_id}", patch(update_sku))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    /// Staff only: include archived products.
    #[serde(default)]
    all: bool,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Product>>> {
    if q.all && !caller.is_staff() {
        return Err(Error::Forbidden("only staff see archived products".into()));
    }
    Ok(Json(products::list(&state.store, q.all).await?))
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(new): AppJson<NewProduct>,
) -> Result<(StatusCode, Json<Product>)> {
    let product = products::create(&state.store, &new).await?;
    staff
        .audit(
            &state,
            "create product",
            format!("product {}", product.id),
            serde_json::Value::Null,
        )
        .await;
    Ok((StatusCode::CREATED, Json(product)))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Product>> {
    let product = products::get(&state.store, id).await?;
    if product.status == ProductStatus::Archived && !caller.is_staff() {
        return Err(Error::NotFound(format!("product {id}")));
    }
    Ok(Json(product))
}

async fn update(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(patch): AppJson<ProductPatch>,
) -> Result<Json<Product>> {
    let before = products::get(&state.store, id).await?;
    let product = products::update(&state.store, id, &patch).await?;
    let detail = serde_json::json!({ "before": before, "after": product });
    staff
        .audit(&state, "update product", format!("product {id}"), detail)
        .await;
    Ok(Json(product))
}

async fn update_sku(
    State(state): State<AppState>,
    staff: Staff,
    AppPath((id, sku_id)): AppPath<(i64, i64)>,
    AppJson(patch): AppJson<SkuPatch>,
) -> Result<Json<Product>> {
    let before = products::get(&state.store, id).await?;
    let product = products::update_sku(&state.store, id, sku_id, &patch).await?;
    let sku = |p: &Product| p.skus.iter().find(|s| s.id == sku_id).cloned();
    let detail = serde_json::json!({ "before": sku(&before), "after": sku(&product) });
    staff
        .audit(
            &state,
            "update sku",
            format!("product {id} sku {sku_id}"),
            detail,
        )
        .await;
    Ok(Json(product))
}
