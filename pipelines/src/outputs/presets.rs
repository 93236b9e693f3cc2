//! Platform presets for RTMP(S)/SRT. Most Chinese platforms hand out a fresh push server per
//! live (in their 直播伴侣 / creator centre), so those presets need the server pasted in.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Preset {
    pub id: &'static str,
    pub name: &'static str,
    /// The ingest server when it is the same for everyone; `None` when the platform gives one
    /// per live.
    pub server: Option<&'static str>,
    pub warning: Option<&'static str>,
}

pub const PRESETS: [Preset; 6] = [
    Preset {
        id: "kuaishou",
        name: "快手 Kuaishou",
        server: None,
        warning: None,
    },
    Preset {
        id: "bilibili",
        name: "哔哩哔哩 Bilibili",
        server: Some("rtmp://live-push.bilivideo.com/live-bvc/"),
        warning: None,
    },
    Preset {
        id: "douyin",
        name: "抖音 Douyin",
        server: None,
        warning: Some(
            "抖音自 2026 年起对第三方推流工具封禁账号的情况时有发生，请确认账号已获得第三方推流权限。 \
             Douyin has banned accounts for third-party push since 2026: make sure yours is allowed to use it.",
        ),
    },
    Preset {
        id: "youtube",
        name: "YouTube",
        server: Some("rtmps://a.rtmps.youtube.com:443/live2/"),
        warning: None,
    },
    Preset {
        id: "twitch",
        name: "Twitch",
        server: Some("rtmp://live.twitch.tv/app/"),
        warning: None,
    },
    Preset {
        id: "custom",
        name: "自定义 Custom",
        server: None,
        warning: None,
    },
];

pub fn preset(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// The full push URL: `server` (or the preset's) with the stream key appended.
pub fn push_url(preset_id: &str, server: Option<&str>, key: &str) -> Result<String, String> {
    let preset =
        preset(preset_id).ok_or_else(|| format!("preset: unknown preset '{preset_id}'"))?;
    let server = server
        .filter(|s| !s.is_empty())
        .or(preset.server)
        .ok_or_else(|| {
            format!(
                "server: {} gives a push server per live; paste it here",
                preset.name
            )
        })?;
    if server.starts_with("srt://") {
        return Ok(if key.is_empty() {
            server.to_owned()
        } else {
            let join = if server.contains('?') { '&' } else { '?' };
            format!("{server}{join}streamid={key}")
        });
    }
    let server = server.trim_end_matches('/');
    Ok(if key.is_empty() {
        server.to_owned()
    } else {
        format!("{server}/{key}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_servers_get_the_key_appended() {
        assert_eq!(
            push_url("twitch", None, "live_123").unwrap(),
            "rtmp://live.twitch.tv/app/live_123"
        );
        assert_eq!(
            push_url("custom", Some("srt://10.0.0.2:9000"), "k").unwrap(),
            "srt://10.0.0.2:9000?streamid=k"
        );
    }

    #[test]
    fn per_live_platforms_ask_for_the_server() {
        let err = push_url("kuaishou", None, "abc").unwrap_err();
        assert!(err.starts_with("server:"), "{err}");
        assert_eq!(
            push_url("kuaishou", Some("rtmp://open-push.example/gifshow/"), "abc").unwrap(),
            "rtmp://open-push.example/gifshow/abc"
        );
        assert!(preset("douyin").unwrap().warning.unwrap().contains("2026"));
        assert!(
            push_url("tiktok", None, "k")
                .unwrap_err()
                .starts_with("preset:")
        );
    }
}
