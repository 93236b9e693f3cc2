//! Product pictures over real HTTP: upload, list on the product, serve with cache headers,
//! refuse what is not a picture or too big, remove.

mod common;

use std::io::Cursor;

use anchordesk_relay::auth::Role;
use anchordesk_relay::commerce::images;
use reqwest::StatusCode;
use serde_json::Value;

async fn upload(
    http: &reqwest::Client,
    base: &str,
    product: i64,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let res = http
        .post(format!("{base}/api/products/{product}/images"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(width, height, image::Rgb([240, 120, 20]));
    let mut out = Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

#[tokio::test]
async fn staff_upload_pictures_viewers_see_them_cached_and_bad_uploads_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let relay = anchordesk_relay::start(&common::config(dir.path()).await)
        .await
        .unwrap();
    let base = relay.url();
    let http = reqwest::Client::new();
    let staff = common::staff_token(&relay, "assistant1", Role::Assistant).await;
    let viewer = common::viewer_token(relay.store()).await;
    let product = common::product(relay.store(), "保温杯", 6_900, 10).await;

    // A PNG (sent with a wrong Content-Type: the bytes decide) and a JPEG.
    let png = images::generated_png(300, 200, [10, 120, 200], [200, 40, 90]);
    let (status, first) = upload(
        &http,
        &base,
        product.id,
        &staff,
        "application/octet-stream",
        png.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["content_type"], "image/png");
    assert_eq!(
        (first["width"].as_i64(), first["height"].as_i64()),
        (Some(300), Some(200))
    );
    let (status, second) =
        upload(&http, &base, product.id, &staff, "image/jpeg", jpeg(64, 64)).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["content_type"], "image/jpeg");

    // Viewers see them on the product, in upload order, and fetch them with cache headers.
    let shown: Value = http
        .get(format!("{base}/api/products/{}", product.id))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let urls: Vec<&str> = shown["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            first["url"].as_str().unwrap(),
            second["url"].as_str().unwrap()
        ]
    );
    let res = http.get(format!("{base}{}", urls[0])).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), png.as_slice());

    // What is refused, and why.
    let (status, body) = upload(&http, &base, product.id, &viewer, "image/png", png.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = upload(
        &http,
        &base,
        product.id,
        &staff,
        "image/png",
        b"<svg/>".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "image");
    let (status, body) = upload(
        &http,
        &base,
        product.id,
        &staff,
        "image/png",
        vec![0; 10 * 1024 * 1024],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["field"], "image");
    let (status, _) = upload(&http, &base, 999_999, &staff, "image/png", png.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in ["/images/..%2Fanchordesk.db", "/images/anchordesk.db"] {
        let res = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // Nine pictures at most.
    for i in 0..7u8 {
        let more = images::generated_png(32, 32, [i * 30, 0, 0], [0, 0, 255]);
        let (status, body) = upload(&http, &base, product.id, &staff, "image/png", more).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = upload(&http, &base, product.id, &staff, "image/png", jpeg(8, 8)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Removing the first picture removes its file; its URL is gone.
    let res = http
        .delete(format!(
            "{base}/api/products/{}/images/{}",
            product.id, first["id"]
        ))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = http.get(format!("{base}{}", urls[0])).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let file = urls[0].strip_prefix("/images/").unwrap();
    assert!(!relay.config().images_dir().join(file).exists());
    let res = http
        .delete(format!(
            "{base}/api/products/{}/images/{}",
            product.id, first["id"]
        ))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    relay.shutdown().await.unwrap();
}
