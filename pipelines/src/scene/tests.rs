use super::*;

const FULL: &str = r##"{
  "version": 1,
  "canvas": {"width": 1080, "height": 1920, "fps": 30},
  "scenes": [
    {"id": "main", "name": "主场景", "layers": [
      {"id": "bg", "source": {"kind": "colour", "colour": "#102030"},
       "rect": {"x": 0, "y": 0, "width": 1080, "height": 1920}},
      {"id": "cam", "source": {"kind": "camera", "device": "/dev/video0",
                               "mode": {"width": 1280, "height": 720, "fps": 30}},
       "rect": {"x": 0, "y": 200, "width": 1080, "height": 1440},
       "crop": {"left": 320, "right": 320}},
      {"id": "logo", "source": {"kind": "image", "path": "assets/logo.png"},
       "rect": {"x": 40, "y": 40, "width": 200, "height": 200}, "opacity": 0.8},
      {"id": "title", "source": {"kind": "text", "text": "今晚 8 点 秒杀", "size": 64,
                                 "colour": "#FFEE00"},
       "rect": {"x": 40, "y": 1700, "width": 1000, "height": 120}, "visible": false}
    ]},
    {"id": "break", "layers": [
      {"id": "clip", "source": {"kind": "media", "path": "assets/intro.mp4"},
       "rect": {"x": 0, "y": 0, "width": 1080, "height": 1920}},
      {"id": "desk", "source": {"kind": "screen", "display": ":0"},
       "rect": {"x": 0, "y": 0, "width": 540, "height": 960}}
    ]}
  ],
  "active_scene": "main"
}"##;

#[test]
fn full_collection_round_trips_through_json() {
    let parsed = SceneCollection::from_json(FULL).unwrap();
    assert!(parsed.canvas.is_portrait());
    assert_eq!(parsed.scenes.len(), 2);
    let main = parsed.active().unwrap();
    assert_eq!(main.layers[2].opacity, 0.8);
    assert!(!main.layers[3].visible);
    assert_eq!(main.layers[1].crop.left, 320);
    let again = SceneCollection::from_json(&parsed.to_json()).unwrap();
    assert_eq!(again, parsed);
}

#[test]
fn defaults_fill_in_optional_fields() {
    let parsed = SceneCollection::from_json(FULL).unwrap();
    let text = &parsed.scenes[0].layers[3];
    let Source::Text { font, .. } = &text.source else {
        panic!("text layer");
    };
    assert_eq!(font, &None);
    let Source::Media { looping, .. } = &parsed.scenes[1].layers[0].source else {
        panic!("media layer");
    };
    assert!(looping);
    assert_eq!(parsed.scenes[1].layers[0].opacity, 1.0);
}

fn error_of(edit: impl FnOnce(&mut serde_json::Value)) -> SceneError {
    let mut value: serde_json::Value = serde_json::from_str(FULL).unwrap();
    edit(&mut value);
    SceneCollection::from_json(&value.to_string()).unwrap_err()
}

#[test]
fn every_validation_error_names_its_field() {
    use serde_json::json;
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("version", Box::new(|v| v["version"] = json!(7))),
        ("canvas", Box::new(|v| v["canvas"]["width"] = json!(1000))),
        ("canvas.fps", Box::new(|v| v["canvas"]["fps"] = json!(29))),
        (
            "second_canvas",
            Box::new(|v| v["second_canvas"] = json!({"width": 100, "height": 100, "fps": 30})),
        ),
        (
            "second_canvas.fps",
            Box::new(|v| v["second_canvas"] = json!({"width": 1920, "height": 1080, "fps": 25})),
        ),
        (
            "scenes[0].layers[2].second_rect.width",
            Box::new(|v| {
                v["scenes"][0]["layers"][2]["second_rect"] =
                    json!({"x": 0, "y": 0, "width": 0, "height": 10})
            }),
        ),
        (
            "scenes[0].layers[2].canvases",
            Box::new(|v| v["scenes"][0]["layers"][2]["canvases"] = json!("third")),
        ),
        ("scenes", Box::new(|v| v["scenes"] = json!([]))),
        (
            "scenes[1].id",
            Box::new(|v| v["scenes"][1]["id"] = json!("main")),
        ),
        (
            "scenes[0].id",
            Box::new(|v| v["scenes"][0]["id"] = json!("主")),
        ),
        (
            "active_scene",
            Box::new(|v| v["active_scene"] = json!("nope")),
        ),
        (
            "scenes[0].layers[1].id",
            Box::new(|v| v["scenes"][0]["layers"][1]["id"] = json!("bg")),
        ),
        (
            "scenes[0].layers[0].rect.width",
            Box::new(|v| v["scenes"][0]["layers"][0]["rect"]["width"] = json!(0)),
        ),
        (
            "scenes[0].layers[0].rect.height",
            Box::new(|v| v["scenes"][0]["layers"][0]["rect"]["height"] = json!(100_000)),
        ),
        (
            "scenes[0].layers[0].rect.x",
            Box::new(|v| v["scenes"][0]["layers"][0]["rect"]["x"] = json!(-90_000)),
        ),
        (
            "scenes[0].layers[1].crop.left",
            Box::new(|v| v["scenes"][0]["layers"][1]["crop"]["left"] = json!(9_000)),
        ),
        (
            "scenes[0].layers[2].opacity",
            Box::new(|v| v["scenes"][0]["layers"][2]["opacity"] = json!(1.5)),
        ),
        (
            "scenes[0].layers[0].source.colour",
            Box::new(|v| v["scenes"][0]["layers"][0]["source"]["colour"] = json!("red")),
        ),
        (
            "scenes[0].layers[1].source.device",
            Box::new(|v| v["scenes"][0]["layers"][1]["source"]["device"] = json!("webcam")),
        ),
        (
            "scenes[0].layers[1].source.mode",
            Box::new(|v| v["scenes"][0]["layers"][1]["source"]["mode"]["fps"] = json!(0)),
        ),
        (
            "scenes[0].layers[2].source.path",
            Box::new(|v| v["scenes"][0]["layers"][2]["source"]["path"] = json!("logo.gif")),
        ),
        (
            "scenes[0].layers[3].source.size",
            Box::new(|v| v["scenes"][0]["layers"][3]["source"]["size"] = json!(1)),
        ),
        (
            "scenes[0].layers[3].source.text",
            Box::new(|v| v["scenes"][0]["layers"][3]["source"]["text"] = json!("字".repeat(501))),
        ),
        (
            "scenes[1].layers[1].source.display",
            Box::new(|v| v["scenes"][1]["layers"][1]["source"]["display"] = json!("zero")),
        ),
        // Type and shape errors come from the parser, with the same kind of path.
        (
            "scenes[0].layers[0].rect.width",
            Box::new(|v| v["scenes"][0]["layers"][0]["rect"]["width"] = json!("wide")),
        ),
        (
            "scenes[0].layers[0].source.kind",
            Box::new(|v| v["scenes"][0]["layers"][0]["source"]["kind"] = json!("hologram")),
        ),
        (
            "scenes[0].layers[0].colour",
            Box::new(|v| v["scenes"][0]["layers"][0]["colour"] = json!("#fff")),
        ),
    ];
    for (field, edit) in cases {
        let err = error_of(edit);
        assert_eq!(err.field, field, "{err}");
        assert!(!err.message.is_empty());
    }
}

#[test]
fn missing_field_is_reported_at_its_parent() {
    let err = error_of(|v| {
        v["scenes"][0]["layers"][0]
            .as_object_mut()
            .unwrap()
            .remove("rect");
    });
    assert_eq!(err.field, "scenes[0].layers[0]");
    assert!(err.message.contains("rect"), "{err}");
}

#[test]
fn colours_parse_with_and_without_alpha() {
    assert_eq!(
        Rgba::parse("#FF8000").unwrap().argb(),
        0xFFFF_8000,
        "opaque by default"
    );
    assert_eq!(Rgba::parse("#00FF0080").unwrap().argb(), 0x8000_FF00);
    assert_eq!(Rgba::parse("FF8000"), None);
    assert_eq!(Rgba::parse("#GG0000"), None);
}

#[test]
fn the_test_pattern_collection_is_valid() {
    let canvas = Canvas {
        width: 1280,
        height: 720,
        fps: 30,
    };
    SceneCollection::test_pattern(canvas).validate().unwrap();
}

#[test]
fn camera_effects_round_trip_and_are_checked() {
    let mut collection = SceneCollection::test_pattern(Canvas {
        width: 1280,
        height: 720,
        fps: 30,
    });
    let layer = &mut collection.scenes[0].layers[0];
    layer.effects.beauty.smooth = 0.6;
    layer.effects.background.mode = BackgroundMode::Blur;
    let json = serde_json::to_value(&collection).unwrap();
    assert_eq!(
        json["scenes"][0]["layers"][0]["effects"]["beauty"]["smooth"],
        0.6
    );
    assert_eq!(
        json["scenes"][0]["layers"][0]["effects"]["background"]["mode"],
        "blur"
    );
    let back: SceneCollection = serde_json::from_value(json).unwrap();
    assert_eq!(back, collection);
    back.validate().unwrap();
    // Layers without effects do not write the key at all.
    let plain = SceneCollection::test_pattern(Canvas {
        width: 1280,
        height: 720,
        fps: 30,
    });
    assert!(
        serde_json::to_value(&plain).unwrap()["scenes"][0]["layers"][0]
            .get("effects")
            .is_none()
    );

    let field = |edit: &dyn Fn(&mut Layer)| {
        let mut c = collection.clone();
        edit(&mut c.scenes[0].layers[0]);
        c.validate().unwrap_err().field
    };
    assert_eq!(
        field(&|l| l.effects.beauty.smooth = 1.5),
        "scenes[0].layers[0].effects.beauty.smooth"
    );
    assert_eq!(
        field(&|l| l.effects.background.key_colour = "green".into()),
        "scenes[0].layers[0].effects.background.key_colour"
    );
    assert_eq!(
        field(&|l| l.effects.background.mode = BackgroundMode::Image),
        "scenes[0].layers[0].effects.background.image"
    );
    assert_eq!(
        field(&|l| l.source = Source::Colour {
            colour: "#000000".into()
        }),
        "scenes[0].layers[0].effects",
        "effects belong to cameras"
    );
}

#[test]
fn a_canvas_change_keeps_fills_filling_and_other_layers_in_proportion() {
    let portrait = SceneCollection::from_json(FULL).unwrap();
    let landscape = portrait.with_canvas(Canvas {
        width: 1920,
        height: 1080,
        fps: 30,
    });
    landscape.validate().unwrap();
    let layers = &landscape.scenes[0].layers;
    // The background filled the portrait canvas: it fills the landscape one.
    assert_eq!(
        layers[0].rect,
        Rect {
            x: 0,
            y: 0,
            width: 1920,
            height: 1080
        }
    );
    // The 200×200 logo keeps its square shape (×0.5625) and its centre's relative place.
    let logo = layers[2].rect;
    assert_eq!((logo.width, logo.height), (113, 113));
    assert_eq!(
        logo.x + logo.width as i32 / 2,
        (140.0 * 1920.0 / 1080.0) as i32
    );
    assert_eq!(landscape.scenes.len(), portrait.scenes.len());
    assert_eq!(
        landscape.scenes[0].layers[3].visible,
        portrait.scenes[0].layers[3].visible
    );
}

#[test]
fn a_second_canvas_places_layers_by_their_own_rect_or_refitted_from_the_first() {
    let mut value: serde_json::Value = serde_json::from_str(FULL).unwrap();
    value["second_canvas"] = serde_json::json!({"width": 1920, "height": 1080, "fps": 30});
    let logo = &mut value["scenes"][0]["layers"][2];
    logo["second_rect"] = serde_json::json!({"x": 1700, "y": 20, "width": 180, "height": 180});
    value["scenes"][0]["layers"][3]["canvases"] = serde_json::json!("first");
    let collection = SceneCollection::from_json(&value.to_string()).unwrap();
    assert_eq!(collection.canvas_ids(), [CanvasId::First, CanvasId::Second]);
    let layers = &collection.scenes[0].layers;
    // The background fills both canvases without a second rect.
    assert_eq!(
        collection.placement(&layers[0], CanvasId::Second),
        Some(Rect {
            x: 0,
            y: 0,
            width: 1920,
            height: 1080
        })
    );
    assert_eq!(
        collection
            .placement(&layers[2], CanvasId::Second)
            .unwrap()
            .x,
        1700
    );
    assert_eq!(
        collection.placement(&layers[2], CanvasId::First),
        Some(layers[2].rect)
    );
    // A first-only layer is not on the second canvas.
    assert_eq!(collection.placement(&layers[3], CanvasId::Second), None);
    assert!(collection.placement(&layers[3], CanvasId::First).is_some());
    // It round-trips, and a one-canvas collection places nothing on a second.
    let again = SceneCollection::from_json(&collection.to_json()).unwrap();
    assert_eq!(again, collection);
    let single = SceneCollection::from_json(FULL).unwrap();
    assert_eq!(single.canvas_ids(), [CanvasId::First]);
    assert_eq!(
        single.placement(&single.scenes[0].layers[0], CanvasId::Second),
        None
    );
}
