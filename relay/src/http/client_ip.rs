//! Which address a request comes from, for the per-address limits.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::{AppState, Error};

/// The client's address: the socket's peer, or what a trusted proxy (`trusted_proxies`) put
/// in `X-Forwarded-For`. Nobody else's `X-Forwarded-For` is believed: a client could write
/// a new address into each request and never be limited.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp {
    pub ip: IpAddr,
    /// The request came straight from a trusted proxy with no client named (the studio on
    /// the same machine, a health check): not held to per-address caps.
    pub trusted: bool,
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        // Without connect info (a router called in-process) there is no peer to count.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let limits = &state.guards.limits;
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        let ip = limits.client_ip(peer, forwarded);
        Ok(Self {
            ip,
            trusted: limits.is_trusted(ip),
        })
    }
}
