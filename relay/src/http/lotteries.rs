//! 福袋 routes: staff create and draw, viewers join, anyone can audit a draw.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Staff, Viewer};
use super::client::Client;
use super::openapi::{Conflict, Forbidden, Invalid, NotFound, Unauthorized, tag};
use super::{AppJson, AppPath, AppState, Result};
use crate::commerce::lotteries::{self, Lottery, NewLottery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(show))
        .routes(routes!(entrants))
        .routes(routes!(join))
        .routes(routes!(draw))
}

/// Staff start a 福袋 in a live; its seed is committed (`seed_sha256`) from the start.
#[utoipa::path(
    post,
    path = "/api/lives/{id}/lotteries",
    operation_id = "create_lottery",
    tag = tag::LOTTERIES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Live id")),
    request_body = NewLottery,
    responses(
        (status = 201, description = "The new lottery", body = Lottery),
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
    AppJson(new): AppJson<NewLottery>,
) -> Result<(StatusCode, Json<Lottery>)> {
    let changed = lotteries::create(&state.store, live_id, &new).await?;
    staff
        .audit(
            &state,
            "create lottery",
            format!("lottery {} in live {live_id}", changed.value.id),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok((StatusCode::CREATED, Json(changed.value)))
}

/// A lottery; after the draw, its seed and winners, so anyone can check the draw.
#[utoipa::path(
    get,
    path = "/api/lotteries/{id}",
    operation_id = "get_lottery",
    tag = tag::LOTTERIES,
    params(("id" = i64, Path, description = "Lottery id"), ("X-Anchordesk-Device" = Option<String>, Header, description = "The viewer page's device id: one entry per address + device")),
    responses(
        (status = 200, description = "The lottery", body = Lottery),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn show(State(state): State<AppState>, AppPath(id): AppPath<i64>) -> Result<Json<Lottery>> {
    Ok(Json(lotteries::get(&state.store, id).await?))
}

/// The viewer ids that joined, ascending: with the seed, the input to the draw.
#[utoipa::path(
    get,
    path = "/api/lotteries/{id}/entrants",
    operation_id = "lottery_entrants",
    tag = tag::LOTTERIES,
    params(("id" = i64, Path, description = "Lottery id")),
    responses(
        (status = 200, description = "Viewer ids", body = Vec<i64>),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    ),
)]
async fn entrants(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Vec<i64>>> {
    Ok(Json(lotteries::entrants(&state.store, id).await?))
}

/// A viewer joins (again is harmless); with a keyword, they must have commented it in the live.
#[utoipa::path(
    post,
    path = "/api/lotteries/{id}/join",
    operation_id = "join_lottery",
    tag = tag::LOTTERIES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Lottery id")),
    responses(
        (status = 200, description = "The lottery", body = Lottery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn join(
    State(state): State<AppState>,
    viewer: Viewer,
    Client(client): Client,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Lottery>> {
    Ok(Json(
        lotteries::join(&state.store, id, viewer.id, &client).await?,
    ))
}

/// Staff draw the winners and reveal the seed.
#[utoipa::path(
    post,
    path = "/api/lotteries/{id}/draw",
    operation_id = "draw_lottery",
    tag = tag::LOTTERIES,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Lottery id")),
    responses(
        (status = 200, description = "The drawn lottery", body = Lottery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    ),
)]
async fn draw(
    State(state): State<AppState>,
    staff: Staff,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Lottery>> {
    let changed = lotteries::draw(&state.store, id).await?;
    staff
        .audit(
            &state,
            "draw lottery",
            format!("lottery {id}"),
            serde_json::Value::Null,
        )
        .await;
    state.events.publish(changed.events);
    Ok(Json(changed.value))
}
