//! `/api/lives/{id}/flash-sales` and `/api/flash-sales/{id}/stop`: 秒杀 set up and stopped by
//! staff, listed for everyone (with the server clock for countdowns).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Staff;
use super::openapi::{Conflict, Forbidden, Invalid, NotFound, Unauthorized, tag};
use super::{AppJson, AppPath, AppState, Result};
use crate::commerce::flash_sales::{self, FlashSale, NewFlashSale};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(stop))
}

/// A live's flash sales.
#[utoipa::path(
    get,
    path = "/api/lives/{id}/flash-sales",
    operation_id = "list_flash_sales",
    tag = tag::FLASH_SALES,
    params(("id" = i64, Path, description = "Live id")),
    responses(
        (status = 200, description = "Flash sales, oldest first", body = Vec<FlashSale>),
        (status = 422, response = Invalid),
    ),
)]
async fn list(
    State(state): State<AppState>,
    AppPath(live_id): AppPath<i64>,
) -> Result<Json<Vec<FlashSale>>> {
    Ok(Json(flash_sales::list(&state.store, live_id).await?))
}

/// Staff start a 秒杀 on one SKU of a cart product.
#[utoipa::path(
    post,
    path = "/api/lives/{id}/flash-sales",
    operation_id = "create_flash_sale",
    tag = tag::FLASH_SALES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = NewFlashSale,
    responses(
        (status = 201, description = "The new flash sale", body = FlashSale),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(live_id): AppPath<i64>,
    AppJson(new): AppJson<NewFlashSale>,
) -> Result<(StatusCode, Json<FlashSale>)> {
    let changed = flash_sales::create(&state.store, live_id, &new).await?;
    staff
        .audit(
            &state,
            "start flash sale",
            format!("sale {} in live {live_id}", changed.value.id),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok((StatusCode::CREATED, Json(changed.value)))
}

/// Staff end a flash sale early.
#[utoipa::path(
    post,
    path = "/api/flash-sales/{id}/stop",
    operation_id = "stop_flash_sale",
    tag = tag::FLASH_SALES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Flash sale id")),
    responses(
        (status = 200, description = "The stopped flash sale", body = FlashSale),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn stop(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<FlashSale>> {
    let changed = flash_sales::stop(&state.store, id).await?;
    staff
        .audit(
            &state,
            "stop flash sale",
            format!("sale {id}"),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok(Json(changed.value))
}
