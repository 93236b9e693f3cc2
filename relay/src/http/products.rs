//! `/api/products`: the catalogue. Anyone reads active products; staff manage them.

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::{Caller, Staff};
use super::{AppJson, AppPath, AppState, Error, Result};
use crate::commerce::images::{self, ProductImage};
use crate::commerce::products::{self, NewProduct, Product, ProductPatch, ProductStatus, SkuPatch};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/products", get(list).post(create))
        .route("/api/products/{id}", get(show).patch(update))
        .route("/api/products/{id}/skus/{sku_id}", patch(update_sku))
        .route(
            "/api/products/{id}/images",
            post(add_image).layer(DefaultBodyLimit::max(images::MAX_IMAGE_BYTES)),
        )
        .route("/api/products/{id}/images/{image_id}", delete(remove_image))
        .route("/images/{file}", get(serve_image))
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

/// `POST /api/products/{id}/images` with the picture itself as the body (PNG, JPEG or WebP,
/// up to 8 MiB): what a browser's `fetch(url, { body: file })` sends.
async fn add_image(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ProductImage>)> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge {
                field: "image".into(),
                limit_bytes: images::MAX_IMAGE_BYTES,
            }
        } else {
            Error::invalid("image", rejection.body_text())
        }
    })?;
    let image = images::add(&state.store, &state.images_dir, id, &bytes).await?;
    staff
        .audit(
            &state,
            "add product image",
            format!("product {id} image {}", image.id),
            serde_json::json!({ "url": image.url, "width": image.width, "height": image.height }),
        )
        .await;
    Ok((StatusCode::CREATED, Json(image)))
}

async fn remove_image(
    State(state): State<AppState>,
    staff: Staff,
    AppPath((id, image_id)): AppPath<(i64, i64)>,
) -> Result<StatusCode> {
    images::remove(&state.store, &state.images_dir, id, image_id).await?;
    staff
        .audit(
            &state,
            "remove product image",
            format!("product {id} image {image_id}"),
            serde_json::Value::Null,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Pictures are named by their SHA-256, so a URL's content never changes: cache it for a year.
async fn serve_image(
    State(state): State<AppState>,
    AppPath(file): AppPath<String>,
) -> Result<axum::response::Response> {
    let not_found = || Error::NotFound(format!("image {file}"));
    let path = images::path_of(&state.images_dir, &file).ok_or_else(not_found)?;
    let bytes = tokio::fs::read(&path).await.map_err(|_| not_found())?;
    Ok((
        [
            (header::CONTENT_TYPE, images::content_type_of(&file)),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}
