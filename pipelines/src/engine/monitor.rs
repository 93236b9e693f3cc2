//! The engine's watchers: the bus (errors, a failed input sent to silence or a placeholder,
//! latency changes) and the once-a-second stats, each on a thread of its own that ends with
//! the engine.

use super::*;

pub(super) fn describe_flow(element: &gst::Element, report: &mut Vec<String>) {
    let (_, current, pending) = element.state(gst::ClockTime::ZERO);
    if current != gst::State::Playing || pending != gst::State::VoidPending {
        report.push(format!(
            "{}: {current:?} (pending {pending:?})",
            element.name()
        ));
    }
    for pad in element.pads() {
        let flow = pad.last_flow_result();
        if flow != Ok(gst::FlowSuccess::Ok) {
            report.push(format!(
                "{}:{}: {flow:?} caps {:?}",
                element.name(),
                pad.name(),
                pad.current_caps().map(|c| c.to_string())
            ));
        }
    }
    if let Some(bin) = element.downcast_ref::<gst::Bin>() {
        for child in bin.children() {
            describe_flow(&child, report);
        }
    }
}

pub(super) fn spawn_bus_watch(shared: std::sync::Weak<Shared>) -> Result<()> {
    let bus = shared
        .upgrade()
        .and_then(|s| s.pipeline.bus())
        .ok_or_else(|| Error::Invalid("engine bus".into()))?;
    std::thread::Builder::new()
        .name("engine-bus".into())
        .spawn(move || {
            loop {
                let message = bus.timed_pop(gst::ClockTime::from_mseconds(100));
                let Some(shared) = shared.upgrade() else { break };
                if shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                let Some(message) = message else { continue };
                // A layer that joins the running canvas (a camera, a media file, a guest) or a
                // decoder that learns its delay (avdec_h264's threads, a reorder depth) changes
                // how late its pictures reach the compositor. Unless the pipeline's latency is
                // worked out again, the compositor keeps its old deadline and drops every
                // picture of that layer as too late: the camera froze on its first frame while
                // the canvas kept running (the camera bench caught it, a different format each
                // run).
                if let gst::MessageView::Latency(_) = message.view() {
                    if let Err(e) = shared.pipeline.recalculate_latency() {
                        tracing::debug!("latency not recalculated: {e}");
                    }
                    continue;
                }
                if let Some(level) = audio::parse_level(&message) {
                    shared.levels.send_modify(|levels| {
                        levels.insert(level.input.clone(), level);
                    });
                    continue;
                }
                if let gst::MessageView::Error(e) = message.view() {
                    let problem = e.error().to_string();
                    if let Some(src) = message.src()
                        && let Some(input) = audio::input_of(src)
                    {
                        shared.audio_failed(&input, src, &problem);
                        continue;
                    }
                    let layer = message.src().and_then(|src| lock(&shared.canvas).layer_of(src));
                    match layer {
                        Some(layer) => {
                            tracing::warn!(%layer, %problem, "layer source failed; showing a placeholder");
                            if let Err(e) = lock(&shared.canvas).replace_with_placeholder(&layer, &problem) {
                                tracing::error!(%layer, error = %e, "placeholder failed");
                            }
                        }
                        None => {
                            let source = message.src().map(|s| s.path_string().to_string()).unwrap_or_default();
                            tracing::error!(%source, %problem, debug = ?e.debug(), "engine pipeline error");
                            *lock(&shared.error) = Some(format!("{source}: {problem}"));
                        }
                    }
                }
            }
        })
        .map_err(|e| Error::Invalid(format!("bus thread: {e}")))?;
    Ok(())
}

pub(super) fn spawn_stats(shared: std::sync::Weak<Shared>) -> Result<()> {
    std::thread::Builder::new()
        .name("engine-stats".into())
        .spawn(move || {
            let mut last = (
                Instant::now(),
                vec![0u64; 2],
                crate::process_cpu_seconds("self"),
            );
            let mut stalled_secs = 0u32;
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let Some(shared) = shared.upgrade() else {
                    break;
                };
                if shared.stop.load(Ordering::Relaxed) {
                    break;
                }
                let now = (
                    Instant::now(),
                    shared.frame_counts(),
                    crate::process_cpu_seconds("self"),
                );
                let elapsed = now.0.duration_since(last.0).as_secs_f64().max(1e-3);
                let rate = |i: usize| {
                    let (now, last) = (now.1.get(i).copied()?, last.1.get(i).copied()?);
                    Some(now.saturating_sub(last) as f64 / elapsed)
                };
                stalled_secs = if now.1[0] == last.1[0] {
                    stalled_secs + 1
                } else {
                    0
                };
                if stalled_secs == STALL_REPORT_SECS {
                    tracing::warn!(graph = %Engine::describe(&shared), "canvas stalled");
                }
                let active = lock(&shared.scenes).active().cloned();
                let layers = active
                    .as_ref()
                    .map(|scene| lock(&shared.canvas).statuses(scene))
                    .unwrap_or_default();
                let outputs = shared.output_stats();
                let stats = EngineStats {
                    fps: rate(0).unwrap_or(0.0),
                    frames: now.1[0],
                    second_fps: rate(1),
                    cpu_percent: match (now.2, last.2) {
                        (Some(a), Some(b)) => (a - b) / elapsed * 100.0,
                        _ => 0.0,
                    },
                    encode_latency_ms: {
                        let mut sum = lock(&shared.encode_latency);
                        let mean = (sum.1 > 0).then(|| sum.0 / f64::from(sum.1));
                        *sum = (0.0, 0);
                        mean
                    },
                    encoder: shared.first().taps.encoder.factory.clone(),
                    video_bitrate_kbps: shared.first().taps.encoder.bitrate_kbps(),
                    active_scene: active.map(|s| s.id).unwrap_or_default(),
                    layers,
                    audio: shared.audio_statuses(),
                    outputs,
                    error: lock(&shared.error).clone().or_else(|| {
                        (stalled_secs >= STALL_REPORT_SECS).then(|| {
                            format!("画面停止 canvas stalled: no frame for {stalled_secs} s")
                        })
                    }),
                };
                shared.stats.send_replace(stats);
                // A media layer's sound leaves with its layer: so does its meter.
                shared.levels.send_if_modified(|levels| {
                    let before = levels.len();
                    levels.retain(|id, _| {
                        shared.pipeline.by_name(&audio::element_name(id)).is_some()
                    });
                    levels.len() != before
                });
                shared.open_preview(shared.preview.receiver_count() > 0);
                last = now;
            }
        })
        .map_err(|e| Error::Invalid(format!("stats thread: {e}")))?;
    Ok(())
}
