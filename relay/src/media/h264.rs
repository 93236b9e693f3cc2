//! Just enough H.264 (RFC 6184 payloads, SPS) for an SFU that never decodes: where a keyframe
//! starts, and the picture size a publisher sends.

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// Whether this RTP payload begins a keyframe: an SPS or IDR slice on its own, in an STAP-A,
/// or the first fragment of one. A viewer that joins starts here, so its decoder never sees
/// a picture whose references it lacks.
pub fn starts_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    match first & 0x1f {
        NAL_SPS | NAL_IDR => true,
        STAP_A => stap_a_units(payload)
            .any(|unit| matches!(unit.first().map(|b| b & 0x1f), Some(NAL_SPS | NAL_IDR))),
        FU_A => payload
            .get(1)
            .is_some_and(|header| header & 0x80 != 0 && header & 0x1f == NAL_IDR),
        _ => false,
    }
}

/// The SPS in this payload, if any (single NAL unit or inside an STAP-A).
pub fn find_sps(payload: &[u8]) -> Option<&[u8]> {
    match payload.first()? & 0x1f {
        NAL_SPS => Some(payload),
        STAP_A => {
            stap_a_units(payload).find(|unit| unit.first().is_some_and(|b| b & 0x1f == NAL_SPS))
        }
        _ => None,
    }
}

fn stap_a_units(payload: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = payload.get(1..).unwrap_or_default();
    std::iter::from_fn(move || {
        let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        let unit = rest.get(2..2 + len)?;
        rest = &rest[2 + len..];
        Some(unit)
    })
}

/// Width and height in pixels from an SPS NAL unit (with its header byte), after cropping.
pub fn sps_resolution(sps: &[u8]) -> Option<(u32, u32)> {
    let rbsp = unescape(sps.get(1..)?);
    let mut r = BitReader::new(&rbsp);
    let profile_idc = r.bits(8)?;
    r.bits(16)?; // constraint flags, level_idc
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            r.bits(1)?; // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if r.bits(1)? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bits(1)? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bits(1)?;
            r.se()?;
            r.se()?;
            for _ in 0..r.ue()? {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bits(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = r.ue()? + 1;
    let height_map_units = r.ue()? + 1;
    let frame_mbs_only = r.bits(1)?;
    if frame_mbs_only == 0 {
        r.bits(1)?; // mb_adaptive_frame_field_flag
    }
    r.bits(1)?; // direct_8x8_inference_flag
    let (mut crop_x, mut crop_y) = (0, 0);
    if r.bits(1)? == 1 {
        let (left, right, top, bottom) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
        let (unit_x, unit_y) = match chroma_format_idc {
            0 | 3 => (1, 2 - frame_mbs_only),
            2 => (2, 2 - frame_mbs_only),
            _ => (2, 2 * (2 - frame_mbs_only)),
        };
        crop_x = (left + right) * unit_x;
        crop_y = (top + bottom) * unit_y;
    }
    let width = (width_mbs * 16).checked_sub(crop_x)?;
    let height = (height_map_units * 16 * (2 - frame_mbs_only)).checked_sub(crop_y)?;
    Some((width, height))
}

fn skip_scaling_list(r: &mut BitReader, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + r.se()? + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// Removes emulation-prevention bytes (00 00 03 → 00 00).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = self.data.get(self.pos / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - self.pos % 8)) & 1);
            self.pos += 1;
        }
        Some(v)
    }

    /// Unsigned Exp-Golomb.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bits(1)? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u32 << zeros) - 1 + self.bits(zeros)?)
    }

    /// Signed Exp-Golomb.
    fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // SPS from x264enc (GStreamer 1.22) at 640×360, constrained baseline.
    const SPS_640X360: [u8; 28] = [
        0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x16, 0xa0, 0xc0, 0xc0, 0xd4,
        0xa0, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x07, 0x91, 0xe2, 0xc5, 0xc9,
    ];
    // SPS from x264enc at 1920×1080, High profile (coded as 1088 lines, cropped).
    const SPS_1080P: [u8; 30] = [
        0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x5a, 0x80, 0x80,
        0x80, 0xa0, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x07, 0x91, 0xe3, 0x06, 0x32, 0xc0,
    ];

    #[test]
    fn resolution_from_sps() {
        assert_eq!(sps_resolution(&SPS_640X360), Some((640, 360)));
        assert_eq!(sps_resolution(&SPS_1080P), Some((1920, 1080)));
        assert_eq!(sps_resolution(&[0x67]), None);
    }

    #[test]
    fn keyframes_are_found_in_every_packetization() {
        assert!(starts_keyframe(&SPS_640X360));
        assert!(starts_keyframe(&[0x65, 0x88])); // IDR slice
        assert!(!starts_keyframe(&[0x41, 0x9a])); // P slice
        // STAP-A with SPS and PPS
        let stap = [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce];
        assert!(starts_keyframe(&stap));
        assert_eq!(find_sps(&stap), Some(&[0x67, 0x42][..]));
        // FU-A: start of an IDR, continuation of one, start of a P slice
        assert!(starts_keyframe(&[0x7c, 0x85, 0x00]));
        assert!(!starts_keyframe(&[0x7c, 0x05, 0x00]));
        assert!(!starts_keyframe(&[0x7c, 0x81, 0x00]));
        assert!(!starts_keyframe(&[]));
        // a truncated STAP-A is not a keyframe and does not panic
        assert!(!starts_keyframe(&[0x78, 0x00, 0x09, 0x67]));
    }
}
