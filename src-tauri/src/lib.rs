//! The AnchorDesk desktop shell: the studio window (Tauri) and the headless CLI.
//! Glue only: media lives in `anchordesk-pipelines`, the shop and video relay in `anchordesk-relay`.

pub mod card;
pub mod cli;
pub mod commands;
pub mod engine_host;
mod headless;
pub mod overlays;
pub mod relay_client;
pub mod relay_host;
pub mod session;
pub mod settings;
mod studio;
pub mod test_recording;
mod webview_gpu;
