//! Landscape and portrait at once, in the real studio window under Xvfb: the anchor picks
//! 横竖双屏, goes live and pins a product with the hotkey. Phones watching the relay get the
//! portrait picture with the 讲解 card as a bottom sheet; the recording (what platforms get)
//! is landscape with the card at the side. Nothing was laid out by hand.

use std::time::Duration;

use anchordesk_e2e::media::{H264Decoder, RgbaFrame, WhepPlayer};
use anchordesk_e2e::studio::{
    CARD_PANEL_720P, CARD_PANEL_PORTRAIT_720P, card_in_picture, card_panel_white, card_price_red,
    pinned_product,
};
use anchordesk_e2e::webdriver::{
    click, connect, demo_product_in_cart, eventually, go_live, has, is_portrait, press_key,
    preview_size, record_for, step, test_pattern_studio, wait_for_running_relay,
};
use anchordesk_e2e::{Xvfb, artifacts_dir, built_binary, ffprobe};
use anyhow::{Context, Result, ensure};

fn save_png(frame: &RgbaFrame, name: &str) -> Result<()> {
    image::RgbaImage::from_raw(frame.width, frame.height, frame.data.clone())
        .context("frame size")?
        .save(artifacts_dir().join(name))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn both_canvases_carry_the_pinned_card_each_in_its_own_layout() -> Result<()> {
    let data_dir = tempfile::tempdir()?;
    let xvfb = Xvfb::start()?;
    let driver = test_pattern_studio(&xvfb.display, data_dir.path())?;
    let client = step(
        "open the studio",
        connect(&driver, &built_binary("anchordesk")),
    )
    .await?;
    let url = step("wait for running relay", wait_for_running_relay(&client)).await?;

    step("横竖双屏", async {
        eventually("the canvas switch", Duration::from_secs(40), || async {
            Ok(has(&client, "[data-orientation=dual]").await?.then_some(()))
        })
        .await?;
        click(&client, "[data-orientation=dual]").await?;
        eventually("both canvases running", Duration::from_secs(30), || async {
            Ok(has(&client, "[data-testid=canvas-routing]")
                .await?
                .then_some(()))
        })
        .await?;
        // Both in sight: the portrait canvas's picture in the landscape preview's corner,
        // loaded from the engine over `preview://canvas-second`.
        eventually(
            "the portrait monitor's picture",
            Duration::from_secs(15),
            || async {
                Ok(has(
                    &client,
                    "[data-testid=canvas-monitor][data-canvas=second][data-loaded]",
                )
                .await?
                .then_some(()))
            },
        )
        .await
    })
    .await?;
    // The portrait layout is edited on a portrait preview.
    step("编辑竖屏", async {
        click(&client, "[data-edit-canvas=second]").await?;
        eventually("a 9:16 preview", Duration::from_secs(15), || async {
            Ok(is_portrait(preview_size(&client).await?).then_some(()))
        })
        .await?;
        eventually(
            "the landscape monitor's picture",
            Duration::from_secs(15),
            || async {
                Ok(has(
                    &client,
                    "[data-testid=canvas-monitor][data-canvas=first][data-loaded]",
                )
                .await?
                .then_some(()))
            },
        )
        .await
    })
    .await?;
    let scenes: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        data_dir.path().join("settings").join("scenes.json"),
    )?)?;
    ensure!(
        scenes["second_canvas"]["height"] == 1280,
        "the portrait canvas is not saved: {scenes}"
    );

    demo_product_in_cart(&client).await?;
    let lives: serde_json::Value = reqwest::get(format!("{url}/api/lives"))
        .await?
        .json()
        .await?;
    let live_id = lives[0]["id"].as_i64().context("live id")?;
    let stream = lives[0]["stream_name"]
        .as_str()
        .context("stream name")?
        .to_owned();
    let product_id = lives[0]["cart"][0]["product"]["id"]
        .as_i64()
        .context("cart")?;
    go_live(&client).await?;

    anchordesk_pipelines::init()?;
    let http = reqwest::Client::new();
    let mut player = step("watch the relay like a phone", async {
        eventually("a WHEP session", Duration::from_secs(15), || async {
            Ok(
                WhepPlayer::join(&http, &url, &stream, "127.0.0.1".parse()?, false)
                    .await
                    .ok(),
            )
        })
        .await
    })
    .await?;
    player.decodable_only();
    let decoder = H264Decoder::new()?;
    let (_, before) = decoder
        .watch_until(&mut player, Duration::from_secs(15), |_| true)
        .await?;
    let before = before.context("no picture from the relay")?;
    ensure!(
        (before.width, before.height) == (720, 1280),
        "the relay gets {}×{}, not the portrait canvas",
        before.width,
        before.height
    );

    step("press hotkey 1", press_key(&client, '1')).await?;
    eventually(
        "the relay reports the pin",
        Duration::from_secs(5),
        || async { Ok((pinned_product(&url, live_id).await? == Some(product_id)).then_some(())) },
    )
    .await?;
    let (shown, frame) = decoder
        .watch_until(&mut player, Duration::from_secs(10), |f| {
            card_in_picture(f, CARD_PANEL_PORTRAIT_720P)
        })
        .await?;
    let frame = frame.context("no picture after the pin")?;
    save_png(&frame, "studio-dual-portrait-with-card.png")?;
    ensure!(
        shown,
        "no bottom sheet in the portrait video (panel white {:.2}, price red {:.4}); see studio-dual-portrait-with-card.png",
        card_panel_white(&frame, CARD_PANEL_PORTRAIT_720P),
        card_price_red(&frame, CARD_PANEL_PORTRAIT_720P)
    );
    // The landscape card's place (bottom-left, 560 wide) is not where the sheet is.
    ensure!(
        card_panel_white(&frame, (32, 488, 560, 200)) < 0.9,
        "the landscape layout leaked into portrait"
    );

    record_for(&client, 3).await?;
    let recording = std::fs::read_dir(data_dir.path().join("studio-recordings"))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "mp4"))
        .context("no recording")?;
    let landscape = ffprobe::frame_at(&recording.to_string_lossy(), 1.0)?;
    save_png(&landscape, "studio-dual-landscape-recording.png")?;
    ensure!(
        (landscape.width, landscape.height) == (1280, 720),
        "the recording is {}×{}, not the landscape canvas",
        landscape.width,
        landscape.height
    );
    ensure!(
        card_in_picture(&landscape, CARD_PANEL_720P),
        "no side card in the landscape recording (panel white {:.2}, price red {:.4}); see studio-dual-landscape-recording.png",
        card_panel_white(&landscape, CARD_PANEL_720P),
        card_price_red(&landscape, CARD_PANEL_720P)
    );
    eprintln!(
        "studio dual canvas: portrait 720×1280 to the relay with the bottom sheet, landscape 1280×720 recorded with the side card"
    );
    Ok(())
}
