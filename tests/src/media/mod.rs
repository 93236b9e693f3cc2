//! Real media clients for relay tests: a WebRTC client written with webrtc-rs (as a WHEP
//! player or a minimal WHIP publisher) and GStreamer's `whipclientsink` as a publisher.

pub mod client;
pub mod gst_publisher;

pub use client::{FrameStats, WebRtcClient, WhepPlayer};
pub use gst_publisher::GstWhipPublisher;
