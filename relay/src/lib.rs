//! The AnchorDesk relay: what the studio pushes to and what viewers watch and buy from.
//!
//! It runs in-process inside the studio (bundled, embedded SQLite) or standalone as
//! `anchordesk-relay serve` on a merchant's machine: same code, same configuration schema.
//! [`start`] binds, opens the store and serves until the returned [`RunningRelay`] is shut down.

pub mod api;
pub mod assist;
pub mod audit;
pub mod auth;
pub mod clips;
pub mod comment_writer;
pub mod commerce;
pub mod config;
pub mod demo;
pub mod error;
pub mod events;
pub mod http;
pub mod interaction;
pub mod limits;
pub mod media;
pub mod presence;
pub mod room;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod ui;
pub mod viewer_sessions;

pub use config::{Config, ConfigError, ServeArgs};
pub use server::{RunningRelay, StartError, shutdown_signal, start};
pub use store::{Store, StoreError};
