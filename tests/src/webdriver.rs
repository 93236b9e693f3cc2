//! Driving the real studio window (and Chromium pages) over WebDriver: the steps and waits
//! the end-to-end tests and the studio-window benchmark share.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::TauriDriver;

/// Runs one WebDriver step with a deadline, so a wedged driver fails the test by name
/// instead of hanging CI.
pub async fn step<T>(name: &str, fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    eprintln!("studio e2e: {name}");
    tokio::time::timeout(Duration::from_secs(45), fut)
        .await
        .with_context(|| format!("step '{name}' timed out"))?
        .with_context(|| format!("step '{name}' failed"))
}

/// A WebDriver session on the studio app at `app` (the `anchordesk` binary).
pub async fn connect(driver: &TauriDriver, app: &Path) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app.to_string_lossy() }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .context("cannot open a WebDriver session on the studio")
}

/// Polls the relay badge until it says running (the relay starts asynchronously).
pub async fn wait_for_running_relay(client: &Client) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(badge) = client.find(Locator::Css("[data-testid=relay-state]")).await
            && badge.attr("data-state").await?.as_deref() == Some("running")
        {
            let url = client
                .find(Locator::Css("[data-testid=relay-url]"))
                .await?
                .text()
                .await?;
            return Ok(url);
        }
        if Instant::now() > deadline {
            bail!("the studio never showed a running relay");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls until `probe` returns `Some`, or fails with `what` after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types `text` into the element `locator` finds (scrolled into view first).
pub async fn type_into(client: &Client, locator: Locator<'_>, text: &str) -> Result<()> {
    let element = client.find(locator).await?;
    scroll_into_view(client, &element).await?;
    element.send_keys(text).await?;
    Ok(())
}

/// A key press on the window, wherever focus is (not typed into an element).
pub async fn press_key(client: &Client, key: char) -> Result<()> {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    client.perform_actions(keys).await?;
    Ok(())
}

/// Whether the studio page has an element for `css` now.
pub async fn has(client: &Client, css: &str) -> Result<bool> {
    // Counted in the page, not with find_all: WebKit fails a find_all with "stale element"
    // when a matching node is removed while it builds the handles (CI saw it while waiting
    // for a stopped 秒杀 to leave the dock).
    let count = client
        .execute(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![css.into()],
        )
        .await?;
    Ok(count.as_u64().unwrap_or(0) > 0)
}

/// Shows the dock tab holding `element` (and opens its dock if collapsed), as a user clicks
/// the tab before using what is on it: the studio keeps every tab mounted but shows one per
/// dock, and WebKitWebDriver neither clicks nor reads the text of a hidden element.
pub async fn reveal(client: &Client, element: &fantoccini::elements::Element) -> Result<()> {
    let arg = vec![serde_json::to_value(element)?];
    client
        .execute(
            "const el = arguments[0];
             const dock = el.closest('[data-dock][data-collapsed]');
             if (dock) dock.querySelector('[data-dock-toggle]').click();
             const panel = el.closest('[role=tabpanel]');
             if (panel && panel.hidden) {
               const tab = document.getElementById(panel.getAttribute('aria-labelledby'));
               if (tab) tab.click();
             }",
            arg.clone(),
        )
        .await?;
    // React shows the tab in its next commit: wait until the panel is no longer hidden.
    eventually("the dock tab shown", Duration::from_secs(5), || async {
        let hidden = client
            .execute(
                "return arguments[0].closest('[role=tabpanel][hidden], [data-collapsed]') !== null;",
                arg.clone(),
            )
            .await?;
        Ok((hidden == serde_json::Value::Bool(false)).then_some(()))
    })
    .await
}

/// Brings `element` to the middle of the view, its dock tab shown first: WebKitWebDriver
/// refuses to click or type into an element scrolled out of a dock's view.
pub async fn scroll_into_view(
    client: &Client,
    element: &fantoccini::elements::Element,
) -> Result<()> {
    reveal(client, element).await?;
    client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(element)?],
        )
        .await?;
    Ok(())
}

/// The text of the element for `css`, its dock tab shown first.
pub async fn text_of(client: &Client, css: &str) -> Result<String> {
    let element = client
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("find {css}"))?;
    reveal(client, &element).await?;
    Ok(element.text().await?)
}

/// Clicks the element for `css`, scrolled into view first. The element is found again when
/// WebKit calls it stale: React may replace a node between the find and the click (CI saw
/// the record button go stale while the live's outputs re-rendered).
pub async fn click(client: &Client, css: &str) -> Result<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match click_once(client, css).await {
            Err(e) if attempt < 4 && format!("{e:#}").to_lowercase().contains("stale") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

async fn click_once(client: &Client, css: &str) -> Result<()> {
    let element = client
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("find {css}"))?;
    scroll_into_view(client, &element).await?;
    element
        .click()
        .await
        .with_context(|| format!("click {css}"))?;
    Ok(())
}

/// Picks `value` in the `<select>` for `css` with the change event a user's pick sends:
/// clicking an `<option>` through WebKitWebDriver changes the value without one.
pub async fn choose(client: &Client, css: &str, value: &str) -> Result<()> {
    let select = client
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("find {css}"))?;
    client
        .execute(
            "arguments[0].value = arguments[1];
             arguments[0].dispatchEvent(new Event('change', { bubbles: true }));",
            vec![serde_json::to_value(&select)?, value.into()],
        )
        .await
        .with_context(|| format!("choose {value} in {css}"))?;
    Ok(())
}

/// tauri-driver for a studio on the test-pattern camera and silent audio, with its data in
/// `data_dir`: what the studio tests and benchmarks drive. The studio is past its first start
/// (its settings say the setup guide was done), so no guide covers the window.
pub fn test_pattern_studio(display: &str, data_dir: &Path) -> Result<TauriDriver> {
    let settings = data_dir.join("settings");
    if !settings.join("settings.json").exists() {
        std::fs::create_dir_all(&settings)?;
        std::fs::write(
            settings.join("settings.json"),
            serde_json::json!({ "desk": { "wizardDone": true } }).to_string(),
        )?;
    }
    studio_driver(display, data_dir, None)
}

/// The same studio on its very first start: the setup guide opens over the window. It plays
/// its test recording back, so it gets speakers (`sound`).
pub fn test_pattern_studio_first_start(
    display: &str,
    data_dir: &Path,
    sound: &crate::sound::SoundServer,
) -> Result<TauriDriver> {
    studio_driver(display, data_dir, Some(sound))
}

fn studio_driver(
    display: &str,
    data_dir: &Path,
    sound: Option<&crate::sound::SoundServer>,
) -> Result<TauriDriver> {
    let mut envs = vec![
        ("ANCHORDESK_DATA_DIR", data_dir),
        ("ANCHORDESK_CAMERA", Path::new("test")),
        ("ANCHORDESK_AUDIO", Path::new("silence")),
    ];
    if let Some(sound) = sound {
        envs.push(("PULSE_SERVER", Path::new(&sound.address)));
    }
    TauriDriver::start(display, &envs)
}

/// "载入示例商品" in the console, then the first product into the cart.
pub async fn demo_product_in_cart(client: &Client) -> Result<()> {
    step("load demo products", async {
        eventually("the console", Duration::from_secs(30), || async {
            Ok(has(client, "[data-testid=load-demo]").await?.then_some(()))
        })
        .await?;
        click(client, "[data-testid=load-demo]").await?;
        eventually("the catalogue", Duration::from_secs(20), || async {
            Ok(has(client, "[data-testid=catalogue] li button")
                .await?
                .then_some(()))
        })
        .await
    })
    .await?;
    step("add the first product to the cart", async {
        click(client, "[data-testid=catalogue] li button").await?;
        eventually("the cart", Duration::from_secs(10), || async {
            Ok(has(client, "[data-testid=cart] li").await?.then_some(()))
        })
        .await
    })
    .await
}

/// The go-live button, then the wait until the studio says live.
pub async fn go_live(client: &Client) -> Result<()> {
    step("go live", async {
        click(client, "[data-testid=go-live]").await?;
        eventually("the studio says live", Duration::from_secs(30), || async {
            let state = client
                .find(Locator::Css("[data-testid=live-state]"))
                .await?
                .attr("data-state")
                .await?;
            Ok((state.as_deref() == Some("live")).then_some(()))
        })
        .await
    })
    .await
}

/// The 录制 button pressed, the recording live for `seconds`, then stopped.
pub async fn record_for(client: &Client, seconds: u64) -> Result<()> {
    step("record", async {
        click(client, "[data-testid=record]").await?;
        eventually("the recording live", Duration::from_secs(15), || async {
            Ok(has(client, "[data-output-id=record][data-state=live]")
                .await?
                .then_some(()))
        })
        .await?;
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        click(client, "[data-testid=record]").await?;
        eventually("the recording stopped", Duration::from_secs(15), || async {
            Ok((!has(client, "[data-output-id=record][data-state=live]").await?).then_some(()))
        })
        .await
    })
    .await
}

/// The preview image's natural size (the engine's canvas, scaled down for the monitor).
pub async fn preview_size(client: &Client) -> Result<Option<(u64, u64)>> {
    let size = client
        .execute(
            "const img = document.querySelector('[data-testid=preview]');
             return img && img.complete ? [img.naturalWidth, img.naturalHeight] : null;",
            vec![],
        )
        .await?;
    Ok(size
        .as_array()
        .and_then(|a| Some((a.first()?.as_u64()?, a.get(1)?.as_u64()?))))
}

/// A 9:16 picture size.
pub fn is_portrait(size: Option<(u64, u64)>) -> bool {
    size.is_some_and(|(w, h)| w > 0 && w * 16 == h * 9)
}

/// An element's box in the viewport: left, top, right, bottom in CSS pixels.
pub type Rect = [f64; 4];

/// Where the studio's parts are in the window, and whether the page itself scrolls: what a
/// layout at a window size is checked by.
#[derive(Debug, serde::Deserialize)]
pub struct DeskLayout {
    /// `innerWidth`, `innerHeight`.
    pub viewport: [f64; 2],
    /// The document's scroll size (`document.scrollingElement`).
    pub scroll: [f64; 2],
    pub preview: Option<Rect>,
    /// The room the preview may take (its fitting box's client size).
    pub preview_area: Option<[f64; 2]>,
    /// The console's dock panel (the product console scrolls inside it).
    pub console: Option<Rect>,
    /// The first 小黄车 item's number and price, and whether either is cut.
    pub cart_number: Option<Rect>,
    pub cart_price: Option<Rect>,
    pub cart_cut: bool,
    pub go_live: Option<Rect>,
    pub header_live: Option<Rect>,
}

impl DeskLayout {
    /// Whether `rect` lies wholly inside the viewport and has an area.
    pub fn in_view(&self, rect: Option<Rect>) -> bool {
        let [w, h] = self.viewport;
        rect.is_some_and(|[l, t, r, b]| {
            l >= 0.0 && t >= 0.0 && r <= w + 0.5 && b <= h + 0.5 && r > l && b > t
        })
    }

    /// Whether the preview is as large as its room allows: it fills the room's width or its
    /// height (the canvas's shape decides which).
    pub fn preview_fills_its_area(&self) -> bool {
        match (self.preview, self.preview_area) {
            (Some([l, t, r, b]), Some([w, h])) => {
                (r - l - w).abs() <= 1.5 || (b - t - h).abs() <= 1.5
            }
            _ => false,
        }
    }

    /// Whether the page scrolls (it must not: the docks scroll inside).
    pub fn page_scrolls(&self) -> bool {
        self.scroll[0] > self.viewport[0] || self.scroll[1] > self.viewport[1]
    }
}

/// The studio's layout now.
pub async fn desk_layout(client: &Client) -> Result<DeskLayout> {
    let value = client
        .execute(
            "const box = (css) => {
               const e = document.querySelector(css);
               if (!e) return null;
               const r = e.getBoundingClientRect();
               return [r.left, r.top, r.right, r.bottom];
             };
             const cut = [...document.querySelectorAll('[data-testid=cart] li:first-child :is(.position, .price)')]
               .some((e) => e.scrollWidth > e.clientWidth);
             const page = document.scrollingElement;
             return {
               viewport: [innerWidth, innerHeight],
               scroll: [page.scrollWidth, page.scrollHeight],
               preview: box('[data-testid=preview]'),
               preview_area: (() => {
                 const e = document.querySelector('.stage-fit');
                 return e ? [e.clientWidth, e.clientHeight] : null;
               })(),
               console: box('#panel-left-console'),
               cart_number: box('[data-testid=cart] li:first-child .position'),
               cart_price: box('[data-testid=cart] li:first-child .price'),
               cart_cut: cut,
               go_live: box('[data-testid=go-live]'),
               header_live: box('[data-testid=header-live]'),
             };",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(value)?)
}
