//! The AnchorDesk desktop shell: the studio window (Tauri) and the headless CLI.
//! Glue only: media lives in `anchordesk-pipelines`, the shop and video relay in `anchordesk-relay`.

pub mod cli;
pub mod commands;
mod headless;
pub mod relay_host;
mod studio;
