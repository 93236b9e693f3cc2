//! Live figures of a stream, counted from the packets the relay forwards anyway.

use std::time::Instant;

use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RtpCodecKind};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use super::h264;

/// Rates are over the last full second; a track silent this long reports zero.
const STALE_AFTER_MS: u128 = 2000;

/// Running counts of one published track.
#[derive(Debug, Default)]
pub struct TrackCounters {
    pub packets: u64,
    pub bytes: u64,
    /// Video frames (RTP marker bit: last packet of a picture).
    pub frames: u64,
    /// Sequence numbers skipped, less those that arrived late (NACK retransmissions).
    lost: i64,
    expected_seq: Option<u16>,
    pub resolution: Option<(u32, u32)>,
    window_start: Option<Instant>,
    window_bytes: u64,
    window_frames: u64,
    last_packet: Option<Instant>,
    bitrate_bps: u64,
    fps: f64,
}

impl TrackCounters {
    /// This track's figures now, as `GET /api/streams/{name}/stats` shows them.
    pub fn figures(&self, codec: &RTCRtpCodec) -> TrackStats {
        let fresh = self.fresh();
        let lost = self.packets_lost();
        let total = self.packets + lost;
        TrackStats {
            codec: codec.mime_type.clone(),
            fmtp: codec.sdp_fmtp_line.clone(),
            bitrate_bps: if fresh { self.bitrate_bps } else { 0 },
            fps: if fresh {
                (self.fps * 10.0).round() / 10.0
            } else {
                0.0
            },
            width: self.resolution.map(|r| r.0),
            height: self.resolution.map(|r| r.1),
            packets: self.packets,
            packets_lost: lost,
            loss_ratio: if total == 0 {
                0.0
            } else {
                lost as f64 / total as f64
            },
        }
    }

    pub fn count(&mut self, kind: RtpCodecKind, packet: &rtp::Packet) {
        let now = Instant::now();
        let size = packet.payload.len() as u64;
        self.packets += 1;
        self.bytes += size;
        self.window_bytes += size;
        self.last_packet = Some(now);
        let seq = packet.header.sequence_number;
        if let Some(expected) = self.expected_seq {
            let ahead = seq.wrapping_sub(expected);
            if ahead == 0 {
                self.expected_seq = Some(seq.wrapping_add(1));
            } else if ahead < 0x8000 {
                self.lost += i64::from(ahead);
                self.expected_seq = Some(seq.wrapping_add(1));
            } else {
                self.lost -= 1; // a late packet: one of those counted as lost arrived
            }
        } else {
            self.expected_seq = Some(seq.wrapping_add(1));
        }
        if kind == RtpCodecKind::Video {
            if packet.header.marker {
                self.frames += 1;
                self.window_frames += 1;
            }
            if let Some(size) = h264::find_sps(&packet.payload).and_then(h264::sps_resolution) {
                self.resolution = Some(size);
            }
        }
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.duration_since(start).as_secs_f64();
        if elapsed >= 1.0 {
            self.bitrate_bps = (self.window_bytes as f64 * 8.0 / elapsed) as u64;
            self.fps = self.window_frames as f64 / elapsed;
            self.window_start = Some(now);
            self.window_bytes = 0;
            self.window_frames = 0;
        }
    }

    fn fresh(&self) -> bool {
        self.last_packet
            .is_some_and(|t| t.elapsed().as_millis() < STALE_AFTER_MS)
    }

    pub fn packets_lost(&self) -> u64 {
        self.lost.max(0) as u64
    }
}

/// `GET /api/streams/{name}/stats`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS, ToSchema)]
#[ts(export)]
pub struct StreamStats {
    pub publishing: bool,
    /// Seconds since the publisher connected.
    pub uptime_s: u64,
    /// WHEP viewers now.
    pub viewers: u32,
    /// HLS players that fetched the playlist in the last few seconds (an estimate).
    pub hls_viewers: u32,
    /// Round trip to a WebRTC publisher in ms (ICE checks); `null` for RTMP or not yet known.
    pub rtt_ms: Option<f64>,
    pub video: Option<TrackStats>,
    pub audio: Option<TrackStats>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS, ToSchema)]
#[ts(export)]
pub struct TrackStats {
    /// e.g. `video/H264`.
    pub codec: String,
    /// SDP format parameters (H.264 profile).
    pub fmtp: String,
    /// Over the last second.
    pub bitrate_bps: u64,
    /// Video only.
    pub fps: f64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub packets: u64,
    pub packets_lost: u64,
    /// Lost ÷ (received + lost), 0–1.
    pub loss_ratio: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, marker: bool) -> rtp::Packet {
        rtp::Packet {
            header: rtp::header::Header {
                sequence_number: seq,
                marker,
                ..Default::default()
            },
            payload: bytes::Bytes::from_static(&[0x41, 0, 0, 0]),
        }
    }

    #[test]
    fn gaps_count_as_lost_until_the_packet_arrives_late() {
        let mut c = TrackCounters::default();
        for seq in [65534, 65535, 0, 3, 4] {
            c.count(RtpCodecKind::Video, &packet(seq, true));
        }
        assert_eq!(c.packets_lost(), 2, "1 and 2 are missing across the wrap");
        c.count(RtpCodecKind::Video, &packet(1, false));
        assert_eq!(c.packets_lost(), 1);
        assert_eq!(c.frames, 5);
        assert_eq!(c.packets, 6);
    }
}
