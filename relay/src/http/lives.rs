//! `/api/lives`: live sessions, their 小黄车 and 讲解 pins. Reads are public; changes are staff.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Staff;
use super::openapi::{Conflict, Forbidden, Invalid, NotFound, Unauthorized, tag};
use super::{AppJson, AppPath, AppState, Result};
use crate::commerce::Changed;
use crate::commerce::lives::{
    self, CartAdd, CartReplace, Live, LivePatch, LiveStatusChange, NewLive, Pin, PinRequest,
};
use crate::commerce::stats::{self, LiveStats};
use crate::room::{self, Room};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update))
        .routes(routes!(room))
        .routes(routes!(set_status))
        .routes(routes!(add_to_cart, replace_cart))
        .routes(routes!(remove_from_cart))
        .routes(routes!(pin, unpin))
        .routes(routes!(pin_history))
        .routes(routes!(stats))
}

/// Publishes the change's events (its transaction has committed) and answers with the live.
async fn publish(
    state: &AppState,
    staff: &Staff,
    action: &str,
    changed: Changed<Live>,
) -> Json<Live> {
    staff
        .audit(
            state,
            action,
            format!("live {}", changed.value.id),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Json(changed.value)
}

/// The latest lives (up to 200), newest first.
#[utoipa::path(
    get,
    path = "/api/lives",
    operation_id = "list_lives",
    tag = tag::LIVES,
    responses(
        (status = 200, description = "Lives", body = Vec<Live>),
    ),
)]
async fn list(State(state): State<AppState>) -> Result<Json<Vec<Live>>> {
    Ok(Json(lives::list(&state.store).await?))
}

/// Staff schedule a live.
#[utoipa::path(
    post,
    path = "/api/lives",
    operation_id = "create_live",
    tag = tag::LIVES,
    security(("bearer" = [])),
    request_body = NewLive,
    responses(
        (status = 201, description = "The new live", body = Live),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    AppJson(new): AppJson<NewLive>,
) -> Result<(StatusCode, Json<Live>)> {
    let live = lives::create(&state.store, &new).await?;
    staff
        .audit(
            &state,
            "create live",
            format!("live {}", live.id),
            serde_json::Value::Null,
        )
        .await;
    Ok((StatusCode::CREATED, Json(live)))
}

/// A live with its cart and current pin.
#[utoipa::path(
    get,
    path = "/api/lives/{id}",
    operation_id = "get_live",
    tag = tag::LIVES,
    params(("id" = i64, Path, description = "Live id")),
    responses(
        (status = 200, description = "The live", body = Live),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn show(State(state): State<AppState>, AppPath(id): AppPath<i64>) -> Result<Json<Live>> {
    Ok(Json(lives::get(&state.store, id).await?))
}

/// Everything a viewer page shows when it opens a live, and where its events socket resumes.
#[utoipa::path(
    get,
    path = "/api/lives/{id}/room",
    operation_id = "get_live_room",
    tag = tag::LIVES,
    params(("id" = i64, Path, description = "Live id")),
    responses(
        (status = 200, description = "The room", body = Room),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn room(State(state): State<AppState>, AppPath(id): AppPath<i64>) -> Result<Json<Room>> {
    // In a cluster, a stream received by any relay is on air on every relay's viewer page.
    let on_air = state.media.on_air_streams().await;
    let viewers_now = state.presence.counts(id).now;
    let room = room::load(&state.store, &state.interaction, id, |live| {
        room::Presence {
            on_air: on_air.contains(&live.stream_name),
            viewers_now,
        }
    })
    .await?;
    Ok(Json(room))
}

/// Staff change a live's title or its low-stock threshold (the studio's 仅剩 N 件 rule, so
/// viewer pages say it at the same stock as the card in the video).
#[utoipa::path(
    patch,
    path = "/api/lives/{id}",
    operation_id = "update_live",
    tag = tag::LIVES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = LivePatch,
    responses(
        (status = 200, description = "The live after the change", body = Live),
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
    AppJson(patch): AppJson<LivePatch>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "update",
        lives::update(&state.store, id, &patch).await?,
    )
    .await)
}

/// Staff start or end a live.
#[utoipa::path(
    post,
    path = "/api/lives/{id}/status",
    operation_id = "set_live_status",
    tag = tag::LIVES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = LiveStatusChange,
    responses(
        (status = 200, description = "The live after the change", body = Live),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(change): AppJson<LiveStatusChange>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "set_status",
        lives::set_status(&state.store, id, &change).await?,
    )
    .await)
}

/// Staff replace the whole cart (小黄车), in display order.
#[utoipa::path(
    put,
    path = "/api/lives/{id}/cart",
    operation_id = "replace_cart",
    tag = tag::LIVES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = CartReplace,
    responses(
        (status = 200, description = "The live after the change", body = Live),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn replace_cart(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<CartReplace>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "replace_cart",
        lives::replace_cart(&state.store, id, &req).await?,
    )
    .await)
}

/// Staff add a product at the end of the cart.
#[utoipa::path(
    post,
    path = "/api/lives/{id}/cart",
    operation_id = "add_to_cart",
    tag = tag::LIVES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = CartAdd,
    responses(
        (status = 200, description = "The live after the change", body = Live),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn add_to_cart(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<CartAdd>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "add_to_cart",
        lives::add_to_cart(&state.store, id, &req).await?,
    )
    .await)
}

/// Staff take a product out of the cart.
#[utoipa::path(
    delete,
    path = "/api/lives/{id}/cart/{product_id}",
    operation_id = "remove_from_cart",
    tag = tag::LIVES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id"), ("product_id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, description = "The live after the change", body = Live),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn remove_from_cart(
    State(state): State<AppState>,
    staff: Staff,
    AppPath((id, product_id)): AppPath<(i64, i64)>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "remove_from_cart",
        lives::remove_from_cart(&state.store, id, product_id).await?,
    )
    .await)
}

/// Staff pin the product being presented (讲解); it must be in the cart.
#[utoipa::path(
    post,
    path = "/api/lives/{id}/pin",
    operation_id = "pin_product",
    tag = tag::LIVES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = PinRequest,
    responses(
        (status = 200, description = "The live after the change", body = Live),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn pin(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<PinRequest>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "pin",
        lives::pin(&state.store, id, &req).await?,
    )
    .await)
}

/// Staff end the current pin.
#[utoipa::path(
    delete,
    path = "/api/lives/{id}/pin",
    operation_id = "unpin_product",
    tag = tag::LIVES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    responses(
        (status = 200, description = "The live after the change", body = Live),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn unpin(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Live>> {
    Ok(publish(
        &state,
        &staff,
        "unpin",
        lives::unpin(&state.store, id).await?,
    )
    .await)
}

/// Staff: every pin of the live, oldest first.
#[utoipa::path(
    get,
    path = "/api/lives/{id}/pins",
    operation_id = "pin_history",
    tag = tag::LIVES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    responses(
        (status = 200, description = "Pins, oldest first", body = Vec<Pin>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn pin_history(
    State(state): State<AppState>,
    _staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Vec<Pin>>> {
    lives::get(&state.store, id).await?;
    Ok(Json(lives::pin_history(&state.store, id).await?))
}

/// The dashboard: viewers, interaction, orders and paid GMV, per product and per pin window.
#[utoipa::path(
    get,
    path = "/api/lives/{id}/stats",
    operation_id = "live_stats",
    tag = tag::LIVES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    responses(
        (status = 200, description = "The live's numbers", body = LiveStats),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn stats(
    State(state): State<AppState>,
    _staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<LiveStats>> {
    lives::get(&state.store, id).await?;
    Ok(Json(
        stats::for_live(&state.store, id, state.presence.counts(id)).await?,
    ))
}
