//! Editing the programme in the real studio window under Xvfb: a layer dragged on the preview,
//! an effect that shows in the preview, the canvas turned to portrait, and all of it (with the
//! language) still there after the studio is closed and opened again.

use std::time::Duration;

use anchordesk_e2e::webdriver::{
    choose, click, connect, eventually, has, is_portrait, preview_size, step, test_pattern_studio,
};
use anchordesk_e2e::{TauriDriver, Xvfb, artifacts_dir, built_binary};
use anyhow::{Context, Result};
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, Locator};
use serde_json::Value;

/// The background colour mode's default is `#202020`, what the preview shows where no person
/// is; the selected layer's box tints it a little, so "dark" is what is looked for.
fn dark(p: &image::Rgb<u8>) -> bool {
    p.0.iter().all(|&c| c < 80)
}

/// Share of the preview, as the window shows it, that is dark.
async fn preview_dark_share(client: &Client) -> Result<f64> {
    let preview = client.find(Locator::Css("[data-testid=preview]")).await?;
    // Screenshots cover the viewport: the docks may have scrolled the preview away.
    client
        .execute(
            "arguments[0].scrollIntoView({block: 'start'});",
            vec![serde_json::to_value(&preview)?],
        )
        .await?;
    let (x, y, w, h) = preview.rectangle().await?;
    let png = client.screenshot().await?;
    let shot = image::load_from_memory(&png)?.to_rgb8();
    let (mut grey, mut all) = (0u64, 0u64);
    for py in (y.max(0.0) as u32..(y + h) as u32).step_by(4) {
        for px in (x.max(0.0) as u32..(x + w) as u32).step_by(4) {
            let Some(p) = shot.get_pixel_checked(px, py) else {
                continue;
            };
            all += 1;
            if dark(p) {
                grey += 1;
            }
        }
    }
    Ok(grey as f64 / all.max(1) as f64)
}

fn saved(data_dir: &std::path::Path, file: &str) -> Result<Value> {
    let text = std::fs::read_to_string(data_dir.join("settings").join(file))
        .with_context(|| format!("{file} not saved"))?;
    Ok(serde_json::from_str(&text)?)
}

#[tokio::test(flavor = "multi_thread")]
async fn layers_effects_canvas_and_language_are_edited_in_the_window_and_kept() -> Result<()> {
    let data_dir = tempfile::tempdir()?;
    let xvfb = Xvfb::start()?;
    let app = built_binary("anchordesk");
    {
        let driver = test_pattern_studio(&xvfb.display, data_dir.path())?;
        let client = step("open the studio", connect(&driver, &app)).await?;
        step("the camera on the preview", async {
            eventually("the camera's box", Duration::from_secs(40), || async {
                Ok(has(&client, "[data-testid=layer-box-camera]")
                    .await?
                    .then_some(()))
            })
            .await
        })
        .await?;
        // The layer's box is there before the first preview frame: wait for the test pattern
        // (on a loaded machine the first JPEG can come seconds later).
        let dark_before = eventually(
            "the test pattern on the preview",
            Duration::from_secs(20),
            || async {
                let share = preview_dark_share(&client).await?;
                Ok((share < 0.4).then_some(share))
            },
        )
        .await
        .context("the preview never showed the test pattern")?;

        // Selecting the camera on the preview opens its effects; a background colour with
        // person segmentation replaces the whole test pattern (no person in it).
        step("background colour on the camera", async {
            click(&client, "[data-testid=layer-box-camera]").await?;
            eventually("the effects dock", Duration::from_secs(10), || async {
                Ok(has(&client, "[data-testid=effects-dock]")
                    .await?
                    .then_some(()))
            })
            .await?;
            choose(&client, "#fx-mode", "colour").await
        })
        .await?;
        let dark_after = eventually(
            "the preview in the background colour",
            Duration::from_secs(20),
            || async {
                let share = preview_dark_share(&client).await?;
                Ok((share > 0.9).then_some(share))
            },
        )
        .await;
        let png = client.screenshot().await?;
        std::fs::write(artifacts_dir().join("studio-editing-effect.png"), &png)?;
        let dark_after = dark_after
            .context("the preview shows no background colour; see studio-editing-effect.png")?;
        eprintln!("studio editing: preview dark {dark_before:.2} → {dark_after:.2}");

        // Dragging the camera's box moves the layer in the engine's scenes (saved at once).
        step("drag the camera", async {
            let camera = client
                .find(Locator::Css("[data-testid=layer-box-camera]"))
                .await?;
            let drag = MouseActions::new("mouse".into())
                .then(PointerAction::MoveToElement {
                    element: camera,
                    duration: None,
                    x: 0.0,
                    y: 0.0,
                })
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                })
                .then(PointerAction::MoveBy {
                    duration: Some(Duration::from_millis(300)),
                    x: 60.0,
                    y: 30.0,
                })
                .then(PointerAction::Up {
                    button: MOUSE_BUTTON_LEFT,
                });
            client.perform_actions(drag).await?;
            client.release_actions().await?;
            Ok(())
        })
        .await?;
        let rect = eventually("the moved layer saved", Duration::from_secs(10), || async {
            let Ok(scenes) = saved(data_dir.path(), "scenes.json") else {
                return Ok(None);
            };
            let rect = scenes["scenes"][0]["layers"][0]["rect"].clone();
            Ok((rect["x"].as_i64() > Some(0) && rect["y"].as_i64() > Some(0)).then_some(rect))
        })
        .await?;
        assert_eq!(rect["width"], 1280, "a move keeps the size: {rect}");

        let portrait = step("portrait canvas", async {
            // (WebKitWebDriver finds nothing with a non-ASCII attribute in a selector.)
            click(&client, ".canvas-toggle .segmented button:nth-child(2)").await?;
            eventually("a 9:16 preview", Duration::from_secs(30), || async {
                // The page re-renders while the engine restarts; a script that fails then is retried.
                Ok(is_portrait(preview_size(&client).await.ok().flatten()).then_some(()))
            })
            .await
        })
        .await;
        if portrait.is_err() {
            let png = client.screenshot().await?;
            std::fs::write(artifacts_dir().join("studio-editing-portrait.png"), &png)?;
            eprintln!("preview now {:?}", preview_size(&client).await);
        }
        portrait.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        step("English", async {
            choose(&client, ".lang-switch select", "en").await?;
            eventually("the settings saved", Duration::from_secs(10), || async {
                Ok(saved(data_dir.path(), "settings.json")
                    .ok()
                    .filter(|s| s["language"] == "en")
                    .map(|_| ()))
            })
            .await
        })
        .await?;
        let scenes = saved(data_dir.path(), "scenes.json")?;
        assert_eq!(scenes["canvas"]["width"], 720);
        assert_eq!(
            scenes["scenes"][0]["layers"][0]["effects"]["background"]["mode"],
            "colour"
        );
        let png = client.screenshot().await?;
        std::fs::write(artifacts_dir().join("studio-editing-portrait.png"), &png)?;
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    }

    // Opened again without pinning camera or canvas: the saved scenes and language.
    let driver = TauriDriver::start(
        &xvfb.display,
        &[
            ("ANCHORDESK_DATA_DIR", data_dir.path()),
            ("ANCHORDESK_AUDIO", std::path::Path::new("silence")),
        ],
    )?;
    let client = step("open the studio again", connect(&driver, &app)).await?;
    step("the saved portrait scenes", async {
        eventually("a 9:16 preview", Duration::from_secs(40), || async {
            Ok(is_portrait(preview_size(&client).await.ok().flatten()).then_some(()))
        })
        .await
    })
    .await?;
    let title = client.find(Locator::Css("h1")).await?.text().await?;
    assert_eq!(title, "AnchorDesk Live Studio");
    let png = client.screenshot().await?;
    std::fs::write(artifacts_dir().join("studio-editing-reopened.png"), &png)?;
    let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    Ok(())
}
