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
    staff.log("create product", format_args!("product {}", product.id));
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
    let product = products::update(&state.store, id, &patch).await?;
    staff.log("update product", format_args!("product {id}"));
    Ok(Json(product))
}

async fn update_sku(
    State(state): State<AppState>,
    staff: Staff,
    AppPath((id, sku_id)): AppPath<(i64, i64)>,
    AppJson(patch): AppJson<SkuPatch>,
) -> Result<Json<Product>> {
    let product = products::update_sku(&state.store, id, sku_id, &patch).await?;
    staff.log("update sku", format_args!("product {id} sku {sku_id}"));
    Ok(Json(product))
}
