//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the HTTP API.
//!
//! Nothing here lists routes. Each area's `router()` registers its handlers with
//! `utoipa_axum::routes!`, which takes a route's method and path from the handler's
//! `#[utoipa::path]` annotation, so the router that serves requests and the document that
//! describes them are built from the same source ([`super::api_router`]). This module adds
//! what is shared: the document's info and tags, the bearer security scheme and the error
//! responses handlers refer to (`response = Unauthorized` etc., all [`ErrorBody`] JSON).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Schema, Type,
};
use utoipa::{Modify, OpenApi, PartialSchema, ToResponse, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::api::{ErrorBody, ErrorDetail};

/// Security scheme of staff and viewer tokens (`Authorization: Bearer <token>`).
pub const BEARER: &str = "bearer";
/// The same token as the `access_token` query parameter, for WebSockets.
pub const ACCESS_TOKEN: &str = "access_token";

/// Tag names, one per area (declared with descriptions on [`ApiDoc`]).
pub mod tag {
    pub const HEALTH: &str = "health";
    pub const AUTH: &str = "auth";
    pub const AUDIT: &str = "audit";
    pub const PRODUCTS: &str = "products";
    pub const LIVES: &str = "lives";
    pub const ORDERS: &str = "orders";
    pub const PAYMENTS: &str = "payments";
    pub const COUPONS: &str = "coupons";
    pub const LOTTERIES: &str = "lotteries";
    pub const FLASH_SALES: &str = "flash-sales";
    pub const INTERACTION: &str = "interaction";
    pub const EVENTS: &str = "events";
    pub const STREAMS: &str = "streams";
    pub const CLIPS: &str = "clips";
    pub const META: &str = "meta";
}

/// The document's frame; [`super::api_router`] fills in the paths and their schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "AnchorDesk relay API",
        version = env!("CARGO_PKG_VERSION"),
        description = "The relay's HTTP JSON API: catalogue, lives with their cart and pins, \
            orders and payments, coupons, lotteries, flash sales, comments and likes, and each \
            live's event feed.\n\nAmounts are integers in fen (1/100 yuan); times are Unix \
            milliseconds. Staff log in with `POST /api/auth/login`, viewers get a device token \
            from `POST /api/viewers`; both send it as `Authorization: Bearer <token>`. Every \
            4xx and 5xx answer has an `ErrorBody` JSON body (a storage failure is a 500 with \
            code `internal` on any route), except a malformed query string (400, plain text) \
            and a request taking over 30 s (408, empty).",
    ),
    tags(
        (name = tag::HEALTH, description = "Liveness and version"),
        (name = tag::AUTH, description = "Staff login, viewer tokens, who am I"),
        (name = tag::AUDIT, description = "What staff did (shop owner only)"),
        (name = tag::PRODUCTS, description = "The catalogue: products, SKUs and pictures"),
        (name = tag::LIVES, description = "Live sessions, their 小黄车 cart, 讲解 pins and stats"),
        (name = tag::ORDERS, description = "Viewers' orders; staff manage all of them"),
        (name = tag::PAYMENTS, description = "Payment methods, gateway callbacks, offline confirmation"),
        (name = tag::COUPONS, description = "Coupons: staff create, viewers claim"),
        (name = tag::LOTTERIES, description = "福袋: verifiable draws among joining viewers"),
        (name = tag::FLASH_SALES, description = "秒杀: limited quantity at a sale price for a while"),
        (name = tag::INTERACTION, description = "Comments, likes, clicks and moderation"),
        (name = tag::EVENTS, description = "Each live's ordered event feed (JSON pages or a WebSocket)"),
        (name = tag::STREAMS, description = "Media streams: publish keys and live figures. Publishing (WHIP, RFC 9725) and playback (WHEP) use `/whip/{name}` and `/whep/{name}` with `application/sdp` bodies"),
        (name = tag::CLIPS, description = "看讲解: a replay clip of each pin window, cut from the live's recording"),
        (name = tag::META, description = "This document"),
    ),
    components(
        schemas(ErrorBody, ErrorDetail),
        responses(
            BadQuery,
            Invalid,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            TooLarge,
            TooManyRequests,
            Unavailable
        ),
    ),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A staff session (`POST /api/auth/login`) or a viewer device token \
                         (`POST /api/viewers`). Invalid or expired tokens are a 401, never \
                         anonymous.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ACCESS_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "access_token",
                "The bearer token in the query string, for WebSockets (browsers cannot set \
                 headers on them).",
            ))),
        );
    }
}

/// Declares a shared error response: [`ErrorBody`] JSON with this description.
macro_rules! error_response {
    ($(#[$doc:meta])* $name:ident, $description:literal) => {
        $(#[$doc])*
        pub struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                let body = ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                    .build();
                let response = ResponseBuilder::new()
                    .description($description)
                    .content("application/json", body)
                    .build();
                (stringify!($name), response.into())
            }
        }
    };
}

error_response!(
    /// 422 `invalid_field`.
    Invalid,
    "A path segment, header or body field is missing or invalid (code `invalid_field`); \
     `error.field` names it"
);
error_response!(
    /// 401 `unauthorized`.
    Unauthorized,
    "No bearer token, or it is invalid or expired (code `unauthorized`)"
);
error_response!(
    /// 403 `forbidden`.
    Forbidden,
    "The caller is known but may not do this, e.g. a viewer on a staff route or a staff \
     account placing an order (code `forbidden`)"
);
error_response!(
    /// 404 `not_found`.
    NotFound,
    "No such resource, or not visible to the caller (code `not_found`)"
);
error_response!(
    /// 409 `conflict`.
    Conflict,
    "The request conflicts with the current state, e.g. the live has ended (code `conflict`), \
     or what was ordered is sold out (code `sold_out`)"
);
error_response!(
    /// 413 `too_large`.
    TooLarge,
    "The body is over its limit (code `too_large`); `error.field` names it"
);
error_response!(
    /// 503 `unavailable`.
    Unavailable,
    "The relay cannot serve this now, e.g. too many password checks queued (code \
     `unavailable`); the `Retry-After` header says when to retry"
);
error_response!(
    /// 429 `rate_limited`.
    TooManyRequests,
    "Sending too fast (code `rate_limited`); the `Retry-After` header says when to retry"
);

/// 400 from axum's `Query` extractor: plain text, not [`ErrorBody`].
pub struct BadQuery;

impl<'s> ToResponse<'s> for BadQuery {
    fn response() -> (&'s str, RefOr<Response>) {
        let text = ObjectBuilder::new().schema_type(Type::String).build();
        let response = ResponseBuilder::new()
            .description("The query string does not parse (a plain-text message)")
            .content(
                "text/plain",
                ContentBuilder::new().schema(Some(text)).build(),
            )
            .build();
        ("BadQuery", response.into())
    }
}

/// Picture bytes (PNG, JPEG or WebP), a body that is not JSON.
pub struct ImageBytes;

impl PartialSchema for ImageBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("image/*")
            .description(Some("The picture's bytes"))
            .into()
    }
}

impl ToSchema for ImageBytes {}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(document))
}

/// The whole document, built once from the same routers [`super::app`] serves.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        serde_json::to_string(&super::openapi()).expect("the OpenAPI document serializes")
    })
}

/// This document: OpenAPI 3.1, generated from the handlers' annotations.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = tag::META,
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object)),
)]
async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}
