//! Hostile inputs against the relay, in process: the JSON bodies of orders, coupons, flash
//! sales, comments and likes, the signed payment callback (headers and body), and SDP
//! offers. An input passes when the relay answers it without panicking and without a 5xx
//! (503 "busy, retry" aside). Values lean on the edges (`i64::MIN`/`MAX`, 0, -1, control
//! characters, huge strings), where arithmetic and parsing break.
//!
//! Used twice: a proptest in `cargo test` (`tests/never_panics.rs`, a few hundred cases, with
//! shrinking) and `fuzz-inputs <seconds>` in `make bench` (minutes of it, figures recorded).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anchordesk_relay::auth::{self, LoginRequest, Role};
use anchordesk_relay::commerce::payments::{
    SIGNATURE_HEADER, SignedCallbackProvider, TIMESTAMP_HEADER,
};
use anchordesk_relay::commerce::{lives, products};
use anchordesk_relay::http::AppState;
use anchordesk_relay::interaction::{FilterMode, WordFilter};
use anchordesk_relay::ui::UiAssets;
use anchordesk_relay::{Config, Store};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const SECRET: &str = "fuzz-secret-0123456789abcdef";
/// Viewers the inputs act as.
const VIEWERS: usize = 32;

/// One input: an HTTP request to the relay's router, or text for a parser called directly.
#[derive(Debug, Clone)]
pub enum Input {
    Http {
        target: &'static str,
        method: &'static str,
        path: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        /// The last byte of the client's address (10.0.0.x): limits keyed on it vary.
        peer: u8,
    },
    /// Parsed by the SDP parser WHIP/WHEP offers go through, and the relay's own offer check.
    Sdp(String),
    /// Run through the sensitive-word filter (NFKC, separator stripping, masking).
    Words(String),
}

impl Input {
    pub fn target(&self) -> &'static str {
        match self {
            Self::Http { target, .. } => target,
            Self::Sdp(_) => "sdp",
            Self::Words(_) => "word-filter",
        }
    }
}

/// What one input did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The relay answered with this status.
    Status(u16),
    /// A parser ran to completion.
    Parsed,
    /// The handler or parser panicked: a bug.
    Panicked(String),
}

impl Outcome {
    /// A panic, or a 5xx other than 503 (a busy database): a bug either way.
    pub fn is_failure(&self) -> bool {
        match self {
            Self::Panicked(_) => true,
            Self::Status(s) => *s >= 500 && *s != 503,
            Self::Parsed => false,
        }
    }
}

/// A relay in process (SQLite in a temporary directory) with a live, a product in its cart,
/// an owner and a viewer, driven through its router without sockets.
pub struct Target {
    _dir: tempfile::TempDir,
    pub state: AppState,
    router: Router,
    pub owner: String,
    /// Several, so the per-viewer limits leave room for inputs to get further.
    pub viewers: Vec<String>,
    pub live_id: i64,
    pub sku_id: i64,
}

impl Target {
    pub async fn open() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = Config::bundled(dir.path().to_owned());
        let store = Store::open_config(&config).await?;
        let words = ["微信", "加我", "vx"].map(str::to_owned);
        let state = AppState::new(store.clone(), UiAssets::new(None))
            .with_payment_secret(SECRET)
            .with_word_filter(WordFilter::new(words, FilterMode::Mask));
        auth::create_staff(&store, "owner", "owner-password-1", Role::Owner).await?;
        let owner = auth::login(
            &store,
            &LoginRequest {
                username: "owner".into(),
                password: "owner-password-1".into(),
            },
        )
        .await?
        .token;
        let mut viewers = Vec::new();
        for _ in 0..VIEWERS {
            viewers.push(
                auth::create_viewer(&store, &Default::default())
                    .await?
                    .token,
            );
        }
        let live_id = lives::create(
            &store,
            &lives::NewLive {
                title: "压测直播".into(),
                stream_name: None,
            },
        )
        .await?
        .id;
        let product = products::create(
            &store,
            &products::NewProduct {
                title: "M&M 巧克力".into(),
                description: None,
                price_fen: 9_900,
                stock: Some(1_000_000),
                skus: None,
            },
        )
        .await?;
        lives::replace_cart(
            &store,
            live_id,
            &lives::CartReplace {
                product_ids: vec![product.id],
            },
        )
        .await?;
        let router = anchordesk_relay::http::app(state.clone());
        Ok(Self {
            _dir: dir,
            state,
            router,
            owner,
            viewers,
            live_id,
            sku_id: product.skus[0].id,
        })
    }

    /// Runs one input; a panic is caught (on its own task) and reported, not propagated.
    pub async fn run(&self, input: &Input) -> Outcome {
        match input.clone() {
            Input::Http {
                method,
                path,
                headers,
                body,
                peer,
                ..
            } => {
                let mut request = Request::builder().method(method).uri(path);
                for (name, value) in &headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                let Ok(mut request) = request.body(Body::from(body)) else {
                    // Not a request any client could send (a header value with a newline).
                    return Outcome::Status(400);
                };
                request
                    .extensions_mut()
                    .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, peer], 40_000))));
                let router = self.router.clone();
                match tokio::spawn(async move { router.oneshot(request).await }).await {
                    Ok(Ok(response)) => Outcome::Status(response.status().as_u16()),
                    Ok(Err(never)) => match never {},
                    Err(e) => Outcome::Panicked(e.to_string()),
                }
            }
            Input::Sdp(text) => {
                let parse = std::panic::catch_unwind(|| {
                    let _ = anchordesk_relay::media::peer::offered_media(&text);
                    let _ = rtc::sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(
                        text.as_bytes(),
                    ));
                });
                parse.map_or_else(|e| Outcome::Panicked(panic_text(&e)), |()| Outcome::Parsed)
            }
            Input::Words(text) => {
                let filter = WordFilter::new(
                    ["微信", "加我", "加微信号", "vx"].map(str::to_owned),
                    FilterMode::Mask,
                );
                std::panic::catch_unwind(|| filter.apply(&text)).map_or_else(
                    |e| Outcome::Panicked(panic_text(&e)),
                    |masked| {
                        // Masking replaces characters one for one: the length never changes.
                        match masked {
                            Ok(m) if m.chars().count() != text.chars().count() => {
                                Outcome::Panicked(format!("mask changed the length: {m:?}"))
                            }
                            _ => Outcome::Parsed,
                        }
                    },
                )
            }
        }
    }

    /// Writes what the comment and like inputs left pending, as the relay's flusher would.
    pub async fn flush(&self) {
        let _ = self.state.interaction.flush().await;
    }
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panic".into())
}

/// Integers where arithmetic breaks, and ordinary ones.
pub fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MAX - 1),
        Just(i64::MIN + 1),
        Just(0i64),
        Just(-1i64),
        Just(1i64),
        Just(253_402_300_799_999i64),
        Just(1i64 << 53),
        -1000i64..1_000_000,
        any::<i64>(),
    ]
}

/// A JSON number as a client may write one: an integer, a float, or a big one.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => int().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        1 => Just(json!(1e300)),
        1 => Just(Value::Null),
        1 => Just(json!("12")),
    ]
}

/// Text with the characters that break things: NUL and other controls, markup, bidi and
/// zero-width characters, CJK, long runs.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "\\PC{0,40}",
        2 => "[\\x00-\\x1f<>&\"'微信加我 \u{200b}\u{00ad}\u{202e}\u{ff36}\u{ff38}a-z0-9]{0,30}",
        1 => Just("<span foreground=\"red\" size=\"60000\">大字</span>".to_owned()),
        1 => (1usize..5000).prop_map(|n| "字".repeat(n)),
        1 => Just(String::new()),
    ]
}

fn phone() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (0u32..100_000_000).prop_map(|n| json!(format!("138{n:08}"))),
        1 => (0u32..100_000_000).prop_map(|n| json!(format!("+86139{n:08}"))),
        1 => text().prop_map(Value::from),
        1 => number(),
    ]
}

/// A value in the field's valid range most of the time, else anything (edges, floats, text).
fn sane(range: std::ops::Range<i64>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        5 => range.prop_map(|v| Some(Value::from(v))),
        1 => maybe(number()),
    ]
}

/// Short clean text most of the time, else [`text`].
fn words() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => "[微信加我这件多少钱主播好 a-z0-9]{1,20}".prop_map(|t| Some(Value::from(t))),
        1 => maybe(text().prop_map(Value::from)),
    ]
}

/// A field that is usually the right shape and sometimes not, or missing.
fn maybe(value: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        8 => value.prop_map(Some),
        1 => Just(None),
        1 => Just(Some(json!([1, {"a": null}]))),
    ]
}

fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
    let map: serde_json::Map<String, Value> = fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
    Value::Object(map)
}

impl Target {
    /// Every kind of input, weighted towards the JSON bodies.
    pub fn inputs(&self) -> BoxedStrategy<Input> {
        let live = self.live_id;
        let sku = self.sku_id;
        let known = |v: i64| prop_oneof![3 => Just(v), 1 => int()].prop_map(Value::from);

        let this = Shared {
            owner: self.owner.clone(),
            viewers: self.viewers.clone(),
        };

        let order = (
            maybe(known(live)),
            proptest::collection::vec((known(sku), sane(1..4)), 0..4),
            words(),
            maybe(phone()),
            prop_oneof![
                3 => Just(Some(json!("上海市黄浦区南京东路 1 号"))),
                1 => maybe(text().prop_map(Value::from)),
            ],
            prop_oneof![3 => Just(None), 1 => sane(1..40)],
            prop_oneof![3 => "[A-Za-z0-9-]{8,64}", 1 => "[ -~]{0,70}"],
            (any::<u8>(), any::<u8>()),
        )
            .prop_map({
                let this = this.clone();
                move |(live_id, items, name, phone, address, claim, key, (peer, who))| {
                    let items: Vec<Value> = items
                        .into_iter()
                        .map(|(sku_id, quantity)| {
                            object(vec![("sku_id", Some(sku_id)), ("quantity", quantity)])
                        })
                        .collect();
                    let shipping =
                        object(vec![("name", name), ("phone", phone), ("address", address)]);
                    let body = object(vec![
                        ("live_id", live_id),
                        ("items", Some(Value::from(items))),
                        ("shipping", Some(shipping)),
                        ("coupon_claim_id", claim),
                    ]);
                    this.post(
                        "orders",
                        "/api/orders".into(),
                        this.viewer(who),
                        &body,
                        peer,
                        vec![("idempotency-key".into(), key)],
                    )
                }
            });

        let now = anchordesk_relay::error::now_ms();
        let coupon = (
            maybe(known(live)),
            words(),
            sane(1..5_000),
            sane(0..20_000),
            sane(1..1_000),
            sane(1..3),
            prop_oneof![3 => Just(None), 1 => sane(now - 60_000..now)],
            sane(now + 3_600_000..now + 7_200_000),
            any::<u8>(),
        )
            .prop_map({
                let this = this.clone();
                move |(live_id, title, off, threshold, quantity, limit, from, until, peer)| {
                    let body = object(vec![
                        ("live_id", live_id),
                        ("title", title),
                        ("amount_off_fen", off),
                        ("threshold_fen", threshold),
                        ("quantity", quantity),
                        ("per_user_limit", limit),
                        ("valid_from_ms", from),
                        ("valid_until_ms", until),
                    ]);
                    this.post(
                        "coupons",
                        "/api/coupons".into(),
                        &this.owner,
                        &body,
                        peer,
                        vec![],
                    )
                }
            });

        let claim = (int(), any::<u8>(), "[A-Za-z0-9_ -]{0,70}", any::<u8>()).prop_map({
            let this = this.clone();
            move |(id, peer, device, who)| {
                let id = id.rem_euclid(64);
                this.post(
                    "coupon-claims",
                    format!("/api/coupons/{id}/claim"),
                    this.viewer(who),
                    &json!({}),
                    peer,
                    vec![("x-anchordesk-device".into(), device)],
                )
            }
        });

        let flash = (
            maybe(known(sku)),
            sane(0..9_000),
            sane(1..50),
            sane(1..3),
            prop_oneof![3 => Just(None), 1 => sane(now..now + 60_000)],
            sane(10..600),
            any::<u8>(),
        )
            .prop_map({
                let this = this.clone();
                move |(sku_id, price, quantity, limit, starts, duration, peer)| {
                    let body = object(vec![
                        ("sku_id", sku_id),
                        ("sale_price_fen", price),
                        ("quantity", quantity),
                        ("per_user_limit", limit),
                        ("starts_at_ms", starts),
                        ("duration_secs", duration),
                    ]);
                    this.post(
                        "flash-sales",
                        format!("/api/lives/{live}/flash-sales"),
                        &this.owner,
                        &body,
                        peer,
                        vec![],
                    )
                }
            });

        let comment = (words(), any::<u8>(), any::<u8>()).prop_map({
            let this = this.clone();
            move |(body, peer, who)| {
                this.post(
                    "comments",
                    format!("/api/lives/{live}/comments"),
                    this.viewer(who),
                    &object(vec![("body", body)]),
                    peer,
                    vec![],
                )
            }
        });

        let likes = (sane(1..100), any::<u8>(), any::<u8>()).prop_map({
            let this = this.clone();
            move |(count, peer, who)| {
                this.post(
                    "likes",
                    format!("/api/lives/{live}/likes"),
                    this.viewer(who),
                    &object(vec![("count", count)]),
                    peer,
                    vec![],
                )
            }
        });

        let mute = (int(), sane(0..2)).prop_map({
            let this = this.clone();
            move |(viewer_id, minutes)| {
                this.post(
                    "mutes",
                    // Mostly ids past the fuzz's viewers: a muted viewer comments no further.
                    format!(
                        "/api/viewers/{}/mute",
                        viewer_id.rem_euclid(4 * VIEWERS as i64)
                    ),
                    &this.owner,
                    &object(vec![("minutes", minutes)]),
                    1,
                    vec![],
                )
            }
        });

        let provider = SignedCallbackProvider::new(SECRET);
        let callback = (
            prop_oneof![
                3 => int().prop_map(|t| t.to_string()),
                1 => Just(String::new()),
                1 => "[ -~]{0,30}",
                2 => Just("now".to_owned()),
            ],
            sane(1..50),
            sane(0..20_000),
            words(),
            any::<bool>(),
            "[0-9a-f]{0,70}",
            any::<u8>(),
        )
            .prop_map(
                move |(timestamp, order_id, amount, transaction, signed, forged, peer)| {
                    let now_secs = anchordesk_relay::error::now_ms() / 1000;
                    let timestamp = if timestamp == "now" {
                        now_secs.to_string()
                    } else {
                        timestamp
                    };
                    let body = object(vec![
                        ("order_id", order_id),
                        ("amount_fen", amount),
                        ("transaction_id", transaction),
                    ])
                    .to_string();
                    let signature = match timestamp.parse::<i64>() {
                        Ok(at) if signed => provider.sign(at, body.as_bytes()),
                        _ => forged,
                    };
                    Input::Http {
                        target: "payment-callback",
                        method: "POST",
                        path: "/api/payments/signed/callback".into(),
                        headers: vec![
                            ("content-type".into(), "application/json".into()),
                            (TIMESTAMP_HEADER.into(), timestamp),
                            (SIGNATURE_HEADER.into(), signature),
                        ],
                        body: body.into_bytes(),
                        peer,
                    }
                },
            );

        let sdp = prop_oneof![
            2 => "\\PC{0,200}",
            3 => (
                "[0-9a-zA-Z =:/.-]{0,40}",
                proptest::collection::vec(
                    prop_oneof![
                        Just("m=video 9 UDP/TLS/RTP/SAVPF 96".to_owned()),
                        Just("m=audio 9 UDP/TLS/RTP/SAVPF 111".to_owned()),
                        Just("a=rtpmap:96 H264/90000".to_owned()),
                        Just("a=fmtp:96 profile-level-id=42e01f;packetization-mode=1".to_owned()),
                        Just("a=rtpmap:111 opus/48000/2".to_owned()),
                        Just("c=IN IP4 0.0.0.0".to_owned()),
                        Just("t=0 0".to_owned()),
                        Just("a=group:BUNDLE 0 1".to_owned()),
                        Just("a=candidate:1 1 udp 2130706431 10.0.0.1 9 typ host".to_owned()),
                        "[a-z]=[ -~]{0,40}",
                        Just("m=".to_owned()),
                        Just("a=rtpmap:".to_owned()),
                        Just("o=- 18446744073709551616 99999999999999999999 IN IP4 x".to_owned()),
                    ],
                    0..12,
                ),
            )
                .prop_map(|(origin, lines)| {
                    let mut sdp = format!("v=0\r\no=- 1 1 IN IP4 {origin}\r\ns=-\r\n");
                    for line in lines {
                        sdp.push_str(&line);
                        sdp.push_str("\r\n");
                    }
                    sdp
                }),
        ]
        .prop_map(Input::Sdp);

        prop_oneof![
            4 => order,
            3 => coupon,
            2 => claim,
            3 => flash,
            3 => comment,
            1 => likes,
            1 => mute,
            4 => callback,
            3 => sdp,
            2 => text().prop_map(Input::Words),
        ]
        .boxed()
    }
}

/// The tokens the strategies build requests with (strategies must be `'static`).
#[derive(Debug, Clone)]
struct Shared {
    owner: String,
    viewers: Vec<String>,
}

impl Shared {
    fn viewer(&self, pick: u8) -> &str {
        &self.viewers[usize::from(pick) % self.viewers.len()]
    }

    fn post(
        &self,
        target: &'static str,
        path: String,
        token: &str,
        body: &Value,
        peer: u8,
        extra: Vec<(String, String)>,
    ) -> Input {
        let mut headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("authorization".to_owned(), format!("Bearer {token}")),
        ];
        headers.extend(extra);
        Input::Http {
            target,
            method: "POST",
            path,
            headers,
            body: body.to_string().into_bytes(),
            peer,
        }
    }
}

/// Inputs run and what they did, per target.
#[derive(Debug, Default)]
pub struct Tally {
    pub by_target: BTreeMap<&'static str, BTreeMap<String, u64>>,
    pub failures: Vec<(String, String)>,
}

impl Tally {
    pub fn record(&mut self, input: &Input, outcome: &Outcome) {
        let key = match outcome {
            Outcome::Status(s) => {
                StatusCode::from_u16(*s).map_or(s.to_string(), |c| c.as_u16().to_string())
            }
            Outcome::Parsed => "parsed".into(),
            Outcome::Panicked(_) => "panicked".into(),
        };
        *self
            .by_target
            .entry(input.target())
            .or_default()
            .entry(key)
            .or_default() += 1;
        if outcome.is_failure() && self.failures.len() < 20 {
            self.failures
                .push((format!("{input:?}"), format!("{outcome:?}")));
        }
    }

    pub fn total(&self) -> u64 {
        self.by_target.values().flat_map(|m| m.values()).sum()
    }
}
