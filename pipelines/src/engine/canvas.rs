//! The canvas: a compositor whose sink pads are the active scene's layers. Edits change pad
//! properties in place (move, resize, opacity, order, text) and only rebuild a layer whose
//! source changed, so outputs downstream never restart.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::sources::{self, SourceBin};
use crate::scene::{Canvas, Layer, Rgba, Scene, Source};
use crate::{Error, Result};

/// How a scene switch looks on air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Cut,
    Fade(Duration),
}

/// What the engine reports per layer of the active scene.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LayerStatus {
    pub id: String,
    /// `None` when the source runs; otherwise why a placeholder is shown.
    pub problem: Option<String>,
}

struct LayerNode {
    layer: Layer,
    source: SourceBin,
    pad: gst::Pad,
}

pub struct CanvasGraph {
    pipeline: gst::Pipeline,
    compositor: gst::Element,
    canvas: Canvas,
    nodes: HashMap<String, LayerNode>,
}

impl CanvasGraph {
    pub fn new(pipeline: gst::Pipeline, compositor: gst::Element, canvas: Canvas) -> Self {
        Self {
            pipeline,
            compositor,
            canvas,
            nodes: HashMap::new(),
        }
    }

    pub fn statuses(&self, scene: &Scene) -> Vec<LayerStatus> {
        scene
            .layers
            .iter()
            .map(|l| LayerStatus {
                id: l.id.clone(),
                problem: self.nodes.get(&l.id).and_then(|n| n.source.problem.clone()),
            })
            .collect()
    }

    /// Makes the canvas show `scene`. Layers kept across the change (same id and source) are
    /// updated in place; with a fade the outgoing layers dim out while the new ones come in.
    pub fn show(&mut self, scene: &Scene, transition: Transition) -> Result<()> {
        let mut incoming = Vec::new();
        for (index, layer) in scene.layers.iter().enumerate() {
            let zorder = index as u32 + 1;
            match self.nodes.get_mut(&layer.id) {
                Some(node) if same_source_kind(&node.layer.source, &layer.source) => {
                    update_in_place(node, layer, zorder);
                }
                _ => {
                    if let Some(old) = self.nodes.remove(&layer.id) {
                        self.detach(old);
                    }
                    let node = self.attach(layer, zorder)?;
                    if matches!(transition, Transition::Fade(_)) {
                        node.pad.set_property("alpha", 0.0f64);
                        incoming.push(layer.id.clone());
                    }
                    self.nodes.insert(layer.id.clone(), node);
                }
            }
        }
        let outgoing: Vec<String> = self
            .nodes
            .keys()
            .filter(|id| !scene.layers.iter().any(|l| &l.id == *id))
            .cloned()
            .collect();
        if let Transition::Fade(duration) = transition {
            self.fade(&incoming, &outgoing, duration);
        }
        for id in outgoing {
            if let Some(node) = self.nodes.remove(&id) {
                self.detach(node);
            }
        }
        Ok(())
    }

    /// Ramps alpha of incoming layers up and outgoing ones down, ~30 steps a second.
    fn fade(&self, incoming: &[String], outgoing: &[String], duration: Duration) {
        let start = Instant::now();
        loop {
            let t = (start.elapsed().as_secs_f64() / duration.as_secs_f64().max(0.001)).min(1.0);
            for id in incoming {
                if let Some(node) = self.nodes.get(id) {
                    node.pad
                        .set_property("alpha", target_alpha(&node.layer) * t);
                }
            }
            for id in outgoing {
                if let Some(node) = self.nodes.get(id) {
                    node.pad
                        .set_property("alpha", target_alpha(&node.layer) * (1.0 - t));
                }
            }
            if t >= 1.0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(33));
        }
    }

    /// Swaps a failed source for its placeholder, keeping the layer's place and size.
    pub fn replace_with_placeholder(&mut self, layer_id: &str, problem: &str) -> Result<()> {
        let Some(node) = self.nodes.remove(layer_id) else {
            return Ok(());
        };
        let layer = node.layer.clone();
        let zorder = node.pad.property::<u32>("zorder");
        self.detach(node);
        let source = sources::placeholder(&layer, self.canvas, problem);
        let node = self.link(layer, source, zorder)?;
        self.nodes.insert(layer_id.to_owned(), node);
        Ok(())
    }

    /// The layer whose bin contains `element`, if any (to route a bus error to its layer).
    pub fn layer_of(&self, element: &gst::Object) -> Option<String> {
        let mut current = Some(element.clone());
        while let Some(object) = current {
            let name = object.name();
            if let Some(id) = name.strip_prefix("layer-")
                && self.nodes.contains_key(id)
            {
                return Some(id.to_owned());
            }
            current = object.parent();
        }
        None
    }

    fn attach(&self, layer: &Layer, zorder: u32) -> Result<LayerNode> {
        let source = sources::build(layer, self.canvas);
        self.link(layer.clone(), source, zorder)
    }

    fn link(&self, layer: Layer, source: SourceBin, zorder: u32) -> Result<LayerNode> {
        let id = layer.id.clone();
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            Error::Invalid(format!("layer {id}: {what}: {e}"))
        };
        self.pipeline
            .add(&source.bin)
            .map_err(|e| failed("add", &e))?;
        let pad = self
            .compositor
            .request_pad_simple("sink_%u")
            .ok_or_else(|| Error::Invalid("compositor has no free pad".into()))?;
        let src = source
            .bin
            .static_pad("src")
            .ok_or_else(|| Error::Invalid("layer without src pad".into()))?;
        src.link(&pad).map_err(|e| failed("link", &e))?;
        let node = LayerNode { layer, source, pad };
        let layer = node.layer.clone();
        update_in_place_pad(&node.pad, &layer, zorder);
        node.source
            .bin
            .sync_state_with_parent()
            .map_err(|e| failed("start", &e))?;
        Ok(node)
    }

    fn detach(&self, node: LayerNode) {
        // Stopping first means no streaming thread pushes into a pad that is going away.
        let _ = node.source.bin.set_state(gst::State::Null);
        if let Some(src) = node.source.bin.static_pad("src") {
            let _ = src.unlink(&node.pad);
        }
        self.compositor.release_request_pad(&node.pad);
        let _ = self.pipeline.remove(&node.source.bin);
        drop(node.source.player);
    }

    pub fn clear(&mut self) {
        for (_, node) in self.nodes.drain() {
            let _ = node.source.bin.set_state(gst::State::Null);
        }
    }
}

fn target_alpha(layer: &Layer) -> f64 {
    if layer.visible { layer.opacity } else { 0.0 }
}

/// Sources that can be retuned without a rebuild: the same device/file, or text whose words,
/// font or colour changed (and which keeps its rendering size).
fn same_source_kind(old: &Source, new: &Source) -> bool {
    match (old, new) {
        (Source::Text { .. }, Source::Text { .. })
        | (Source::Colour { .. }, Source::Colour { .. }) => true,
        _ => old == new,
    }
}

fn update_in_place(node: &mut LayerNode, layer: &Layer, zorder: u32) {
    if node.layer.source != layer.source {
        match &layer.source {
            Source::Text {
                text,
                font,
                size,
                colour,
            } => {
                if let (Some(overlay), Some(rgba)) =
                    (node.source.bin.by_name("text"), Rgba::parse(colour))
                {
                    sources::configure_text(&overlay, text, font.as_deref(), *size, rgba);
                }
            }
            Source::Colour { colour } => {
                let src = node
                    .source
                    .bin
                    .iterate_sources()
                    .into_iter()
                    .flatten()
                    .next();
                if let (Some(src), Some(rgba)) = (src, Rgba::parse(colour)) {
                    src.set_property("foreground-color", rgba.argb());
                }
            }
            _ => {}
        }
    }
    if node.layer.effects != layer.effects
        && let (Some(beauty), Some(background)) = (
            node.source.bin.by_name("beauty"),
            node.source.bin.by_name("background"),
        )
    {
        sources::configure_effects(&beauty, &background, &layer.effects);
    }
    if node.layer.crop != layer.crop
        && let Some(cropper) = node.source.bin.by_name("crop")
    {
        sources::set_crop(&cropper, &layer.crop);
    }
    update_in_place_pad(&node.pad, layer, zorder);
    node.layer = layer.clone();
}

fn update_in_place_pad(pad: &gst::Pad, layer: &Layer, zorder: u32) {
    pad.set_property("xpos", layer.rect.x);
    pad.set_property("ypos", layer.rect.y);
    pad.set_property("width", layer.rect.width as i32);
    pad.set_property("height", layer.rect.height as i32);
    pad.set_property("zorder", zorder);
    pad.set_property("alpha", target_alpha(layer));
}
