//! `/api/products`: the catalogue. Anyone reads active products; staff manage them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::auth::{Caller, Staff};
use super::openapi::{
    BadQuery, Conflict, Forbidden, ImageBytes, Invalid, NotFound, TooLarge, Unauthorized, tag,
};
use super::{AppJson, AppPath, AppState, Error, Result};
use crate::commerce::images::{self, ProductImage};
use crate::commerce::products::{self, NewProduct, Product, ProductPatch, ProductStatus, SkuPatch};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update))
        .routes(routes!(update_sku))
        .routes(routes!(add_image).layer(DefaultBodyLimit::max(images::MAX_IMAGE_BYTES)))
        .routes(routes!(remove_image))
        .routes(routes!(serve_image))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Staff only: include archived products.
    #[serde(default)]
    all: bool,
}

/// The catalogue: active products (staff may ask for archived ones too).
#[utoipa::path(
    get,
    path = "/api/products",
    operation_id = "list_products",
    tag = tag::PRODUCTS,
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Products", body = Vec<Product>),
        (status = 400, response = BadQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
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

/// Staff add a product (with one default SKU unless `skus` are given).
#[utoipa::path(
    post,
    path = "/api/products",
    operation_id = "create_product",
    tag = tag::PRODUCTS,
    security(("bearer" = [])),
    request_body = NewProduct,
    responses(
        (status = 201, description = "The new product", body = Product),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ),
)]
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

/// One product; archived ones only for staff.
#[utoipa::path(
    get,
    path = "/api/products/{id}",
    operation_id = "get_product",
    tag = tag::PRODUCTS,
    security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
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

/// Staff change a product: only the fields sent.
#[utoipa::path(
    patch,
    path = "/api/products/{id}",
    operation_id = "update_product",
    tag = tag::PRODUCTS,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")),
    request_body = ProductPatch,
    responses(
        (status = 200, description = "The product after the change", body = Product),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
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

/// Staff change a SKU's price or stock.
#[utoipa::path(
    patch,
    path = "/api/products/{id}/skus/{sku_id}",
    operation_id = "update_sku",
    tag = tag::PRODUCTS,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id"), ("sku_id" = i64, Path, description = "SKU id")),
    request_body = SkuPatch,
    responses(
        (status = 200, description = "The product after the change", body = Product),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn update_sku(
    State(state): State<AppState>,
    staff: Staff,
    AppPath((id, sku_id)): AppPath<(i64, i64)>,
    AppJson(patch): AppJson<SkuPatch>,
) -> Result<Json<Product>> {
    let before = products::get(&state.store, id).await?;
    let changed = products::update_sku(&state.store, id, sku_id, &patch).await?;
    state.events.publish(changed.events);
    let product = changed.value;
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
#[utoipa::path(
    post,
    path = "/api/products/{id}/images",
    operation_id = "add_product_image",
    tag = tag::PRODUCTS,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id")),
    request_body(
        description = "The picture itself (not multipart); the bytes decide its type, not \
            `Content-Type`. At most 8 MiB and 8000 px a side, nine per product.",
        content(
            (inline(ImageBytes) = "image/png"),
            (inline(ImageBytes) = "image/jpeg"),
            (inline(ImageBytes) = "image/webp"),
        ),
    ),
    responses(
        (status = 201, description = "The stored picture", body = ProductImage),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    ),
)]
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

/// Staff remove a picture from a product.
#[utoipa::path(
    delete,
    path = "/api/products/{id}/images/{image_id}",
    operation_id = "remove_product_image",
    tag = tag::PRODUCTS,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Product id"), ("image_id" = i64, Path, description = "Picture id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
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
#[utoipa::path(
    get,
    path = "/images/{file}",
    operation_id = "get_image",
    tag = tag::PRODUCTS,
    params(("file" = String, Path, description = "The file name from `ProductImage.url`: SHA-256 and extension")),
    responses(
        (
            status = 200,
            description = "The picture, `Cache-Control: public, max-age=31536000, immutable`",
            content(
                (inline(ImageBytes) = "image/png"),
                (inline(ImageBytes) = "image/jpeg"),
                (inline(ImageBytes) = "image/webp"),
            ),
        ),
        (status = 404, response = NotFound),
    ),
)]
async fn serve_image(
    State(state): State<AppState>,
    AppPath(file): AppPath<String>,
) -> Result<axum::response::Response> {
    let not_found = || Error::NotFound(format!("image {file}"));
    let path = images::path_of(&state.images_dir, &file).ok_or_else(not_found)?;
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        // Uploaded through another relay of the cluster.
        Err(_) => images::fetch_shared(&state.store, &state.images_dir, &file)
            .await?
            .ok_or_else(not_found)?,
    };
    Ok((
        [
            (header::CONTENT_TYPE, images::content_type_of(&file)),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}
