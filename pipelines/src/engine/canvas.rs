//! The canvases: one compositor per canvas whose sink pads are the active scene's layers. Edits
//! change pad properties in place (move, resize, opacity, order, text) and only rebuild a layer
//! whose source changed, so outputs downstream never restart. A layer on two canvases runs its
//! source (and its effects) once: a tee feeds both compositors, each through its own queue.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::media::SoundTarget;
use super::sources::{self, SourceBin};
use crate::scene::{Canvas, CanvasId, Layer, Rect, Rgba, Scene, SceneCollection, Source};
use crate::{Error, Result, make};

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

/// One canvas's compositor.
pub struct CanvasTarget {
    pub id: CanvasId,
    pub compositor: gst::Element,
}

struct LayerNode {
    layer: Layer,
    source: SourceBin,
    /// A compositor pad per canvas that shows the layer.
    pads: Vec<PadLink>,
    /// Between the source and the pads: with two canvases a tee and its queues, and any
    /// cover crops.
    fan_out: Vec<gst::Element>,
}

struct PadLink {
    canvas: CanvasId,
    pad: gst::Pad,
    /// Where the layer sits on that canvas.
    rect: Rect,
    /// Crops the picture to the rect's shape (see [`keeps_proportions`]).
    cover: Option<gst::Element>,
}

pub struct CanvasGraph {
    pipeline: gst::Pipeline,
    targets: Vec<CanvasTarget>,
    /// Sizes of the canvases (and where layers without a second rect go on the second).
    layout: SceneCollection,
    nodes: HashMap<String, LayerNode>,
    /// Where media layers' sound goes.
    sound: Option<SoundTarget>,
}

impl CanvasGraph {
    /// `layout` gives the canvases; its scenes are not shown until [`CanvasGraph::show`].
    pub fn new(
        pipeline: gst::Pipeline,
        targets: Vec<CanvasTarget>,
        layout: &SceneCollection,
        sound: Option<SoundTarget>,
    ) -> Self {
        let mut layout = layout.clone();
        layout.scenes.clear();
        Self {
            pipeline,
            targets,
            layout,
            nodes: HashMap::new(),
            sound,
        }
    }

    fn canvas(&self) -> Canvas {
        self.layout.canvas
    }

    /// Each canvas that shows `layer`, with the layer's place on it.
    fn placements(&self, layer: &Layer) -> Vec<(CanvasId, Rect)> {
        self.targets
            .iter()
            .filter_map(|t| self.layout.placement(layer, t.id).map(|r| (t.id, r)))
            .collect()
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
        let mut shown = Vec::new();
        for (index, layer) in scene.layers.iter().enumerate() {
            let zorder = index as u32 + 1;
            let placements = self.placements(layer);
            if placements.is_empty() {
                continue;
            }
            shown.push(layer.id.as_str());
            match self.nodes.get_mut(&layer.id) {
                Some(node)
                    if same_source_kind(&node.layer.source, &layer.source)
                        && same_canvases(&node.pads, &placements) =>
                {
                    update_in_place(node, layer, &placements, zorder, self.sound.as_ref());
                }
                _ => {
                    if let Some(old) = self.nodes.remove(&layer.id) {
                        self.detach(old);
                    }
                    let node = self.attach(layer, placements, zorder)?;
                    if matches!(transition, Transition::Fade(_)) {
                        for link in &node.pads {
                            link.pad.set_property("alpha", 0.0f64);
                        }
                        incoming.push(layer.id.clone());
                    }
                    self.nodes.insert(layer.id.clone(), node);
                }
            }
        }
        let outgoing: Vec<String> = self
            .nodes
            .keys()
            .filter(|id| !shown.contains(&id.as_str()))
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
            for (ids, level) in [(incoming, t), (outgoing, 1.0 - t)] {
                for node in ids.iter().filter_map(|id| self.nodes.get(id)) {
                    for link in &node.pads {
                        link.pad
                            .set_property("alpha", target_alpha(&node.layer) * level);
                    }
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
        let placements: Vec<(CanvasId, Rect)> =
            node.pads.iter().map(|l| (l.canvas, l.rect)).collect();
        let zorder = node
            .pads
            .first()
            .map_or(1, |l| l.pad.property::<u32>("zorder"));
        self.detach(node);
        let source = sources::placeholder(&layer, self.canvas(), problem);
        let node = self.link(layer, source, placements, zorder)?;
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

    fn attach(
        &self,
        layer: &Layer,
        placements: Vec<(CanvasId, Rect)>,
        zorder: u32,
    ) -> Result<LayerNode> {
        // Text renders at its size on the canvas that shows it first (the other scales it).
        let mut shaped = layer.clone();
        shaped.rect = placements[0].1;
        let source = sources::build(&shaped, self.canvas(), self.sound.as_ref());
        self.link(layer.clone(), source, placements, zorder)
    }

    fn link(
        &self,
        layer: Layer,
        source: SourceBin,
        placements: Vec<(CanvasId, Rect)>,
        zorder: u32,
    ) -> Result<LayerNode> {
        let id = layer.id.clone();
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            Error::Invalid(format!("layer {id}: {what}: {e}"))
        };
        self.pipeline
            .add(&source.bin)
            .map_err(|e| failed("add", &e))?;
        let src = source
            .bin
            .static_pad("src")
            .ok_or_else(|| Error::Invalid("layer without src pad".into()))?;
        let mut node = LayerNode {
            layer,
            source,
            pads: Vec::new(),
            fan_out: Vec::new(),
        };
        let mut feeds = Vec::new();
        if placements.len() == 1 {
            feeds.push(src);
        } else {
            let tee = make("tee", None)?;
            self.pipeline.add(&tee).map_err(|e| failed("add", &e))?;
            node.fan_out.push(tee.clone());
            src.link(&tee.static_pad("sink").expect("tee sink"))
                .map_err(|e| failed("link", &e))?;
            for _ in &placements {
                let queue = make("queue", None)?;
                // A frame or two of slack per canvas; neither canvas waits on the other.
                queue.set_property("max-size-buffers", 2u32);
                queue.set_property("max-size-time", 0u64);
                queue.set_property("max-size-bytes", 0u32);
                self.pipeline.add(&queue).map_err(|e| failed("add", &e))?;
                tee.link(&queue).map_err(|e| failed("link", &e))?;
                node.fan_out.push(queue.clone());
                feeds.push(queue.static_pad("src").expect("queue src"));
            }
        }
        for ((canvas, rect), feed) in placements.into_iter().zip(feeds) {
            let compositor = &self
                .targets
                .iter()
                .find(|t| t.id == canvas)
                .ok_or_else(|| Error::Invalid(format!("no {canvas:?} canvas")))?
                .compositor;
            let pad = compositor
                .request_pad_simple("sink_%u")
                .ok_or_else(|| Error::Invalid("compositor has no free pad".into()))?;
            let mut feed = feed;
            let mut cover = None;
            if canvas == CanvasId::Second && keeps_proportions(&node.layer.source) {
                let crop = make("aspectratiocrop", None)?;
                set_cover(&crop, rect);
                self.pipeline.add(&crop).map_err(|e| failed("add", &e))?;
                feed.link(&crop.static_pad("sink").expect("crop sink"))
                    .map_err(|e| failed("link", &e))?;
                feed = crop.static_pad("src").expect("crop src");
                node.fan_out.push(crop.clone());
                cover = Some(crop);
            }
            feed.link(&pad).map_err(|e| failed("link", &e))?;
            set_pad(&pad, &node.layer, rect, zorder);
            node.pads.push(PadLink {
                canvas,
                pad,
                rect,
                cover,
            });
        }
        for element in &node.fan_out {
            element
                .sync_state_with_parent()
                .map_err(|e| failed("start", &e))?;
        }
        node.source
            .bin
            .sync_state_with_parent()
            .map_err(|e| failed("start", &e))?;
        Ok(node)
    }

    fn detach(&self, node: LayerNode) {
        // Stopping first means no streaming thread pushes into a pad that is going away.
        let _ = node.source.bin.set_state(gst::State::Null);
        for element in &node.fan_out {
            let _ = element.set_state(gst::State::Null);
        }
        for link in &node.pads {
            if let Some(peer) = link.pad.peer() {
                let _ = peer.unlink(&link.pad);
            }
            if let Some(target) = self.targets.iter().find(|t| t.id == link.canvas) {
                target.compositor.release_request_pad(&link.pad);
            }
        }
        for element in &node.fan_out {
            let _ = self.pipeline.remove(element);
        }
        let _ = self.pipeline.remove(&node.source.bin);
        // The player first: once it has stopped, nothing adds the layer's sound any more.
        let had_player = node.source.player.is_some();
        drop(node.source.player);
        if had_player && let Some(sound) = &self.sound {
            sound.remove(&node.layer.id);
        }
    }

    pub fn clear(&mut self) {
        for (_, node) in self.nodes.drain() {
            let _ = node.source.bin.set_state(gst::State::Null);
            for element in &node.fan_out {
                let _ = element.set_state(gst::State::Null);
            }
        }
    }
}

fn target_alpha(layer: &Layer) -> f64 {
    if layer.visible { layer.opacity } else { 0.0 }
}

/// Sources that can be retuned without a rebuild: the same device/file (a video's volume
/// too), or text whose words, font or colour changed (and which keeps its rendering size).
fn same_source_kind(old: &Source, new: &Source) -> bool {
    match (old, new) {
        (Source::Text { .. }, Source::Text { .. })
        | (Source::Colour { .. }, Source::Colour { .. }) => true,
        // Volume and mute are set on the running player's sound.
        (
            Source::Media {
                path: a,
                looping: x,
                ..
            },
            Source::Media {
                path: b,
                looping: y,
                ..
            },
        ) => a == b && x == y,
        _ => old == new,
    }
}

/// The same canvases in the same order (a layer moved to or from a canvas is rebuilt).
fn same_canvases(pads: &[PadLink], placements: &[(CanvasId, Rect)]) -> bool {
    pads.len() == placements.len()
        && pads
            .iter()
            .zip(placements)
            .all(|(link, (canvas, _))| link.canvas == *canvas)
}

/// Pictures of a given shape (a camera, a screen, a video, an image) keep their proportions
/// on the second canvas, cropped to cover their rect: refitted from landscape to portrait, a
/// camera that filled the first canvas would otherwise be squeezed to a third of its width.
/// On the first canvas the anchor's own rect stands, as in OBS. Colours and text have no
/// shape of their own.
fn keeps_proportions(source: &Source) -> bool {
    !matches!(source, Source::Colour { .. } | Source::Text { .. })
}

fn set_cover(crop: &gst::Element, rect: Rect) {
    crop.set_property(
        "aspect-ratio",
        gst::Fraction::new(rect.width as i32, rect.height as i32),
    );
}

fn update_in_place(
    node: &mut LayerNode,
    layer: &Layer,
    placements: &[(CanvasId, Rect)],
    zorder: u32,
    sound: Option<&SoundTarget>,
) {
    if let (Source::Media { volume, muted, .. }, Some(sound)) = (&layer.source, sound)
        && (node.layer.source != layer.source || node.layer.visible != layer.visible)
    {
        // A hidden video is not heard either.
        sound.set_gain(&layer.id, *volume, *muted || !layer.visible);
    }
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
    for (link, (_, rect)) in node.pads.iter_mut().zip(placements) {
        if let Some(cover) = &link.cover
            && link.rect.width * rect.height != link.rect.height * rect.width
        {
            set_cover(cover, *rect);
        }
        set_pad(&link.pad, layer, *rect, zorder);
        link.rect = *rect;
    }
    node.layer = layer.clone();
}

fn set_pad(pad: &gst::Pad, layer: &Layer, rect: Rect, zorder: u32) {
    pad.set_property("xpos", rect.x);
    pad.set_property("ypos", rect.y);
    pad.set_property("width", rect.width as i32);
    pad.set_property("height", rect.height as i32);
    pad.set_property("zorder", zorder);
    pad.set_property("alpha", target_alpha(layer));
}
