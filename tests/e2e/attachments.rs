//! Attachments: content-addressed upload (whole and resumable), validation of every bad
//! input as a clear 4xx, dedupe, orphan cleanup, scope on download, derivatives.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;
use crate::images::*;
use crate::sync::{household_with_person, push_ok, world};

pub async fn put_bytes(
    app: &TestApp,
    token: &str,
    sha: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> Reply {
    let res = app
        .client
        .put(format!("{}/v1/attachments/{sha}", app.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("sent");
    reply(res).await
}

/// Whether the server holds an attachment under `sha` (read from outside the server: an
/// admin, who uploads in these tests, may not ask about hashes others might hold).
pub fn holds(app: &TestApp, sha: &str) -> bool {
    let mut conn = app
        .config
        .backend()
        .expect("backend")
        .connect()
        .expect("connect");
    liuqing_schema::attachments::find(&mut conn, sha)
        .expect("look up")
        .is_some()
}

pub async fn put_image(app: &TestApp, token: &str, bytes: &[u8]) -> Reply {
    put_bytes(
        app,
        token,
        &sha256(bytes),
        bytes.to_vec(),
        "application/octet-stream",
    )
    .await
}

pub async fn chunk(app: &TestApp, token: &str, id: &str, offset: usize, bytes: &[u8]) -> Reply {
    let res = app
        .client
        .patch(format!("{}/v1/uploads/{id}", app.base))
        .bearer_auth(token)
        .header("content-type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .expect("sent");
    reply(res).await
}

pub async fn create_upload(app: &TestApp, token: &str, sha: &str, size: usize) -> Reply {
    app.post(
        "/v1/uploads",
        Some(token),
        json!({ "sha256": sha, "size": size }),
    )
    .await
}

async fn get_raw(
    app: &TestApp,
    token: &str,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.expect("body").to_vec())
}

/// Sends a PATCH that declares `declared` bytes but stops after `bytes` and closes the
/// connection: a phone losing its signal mid-chunk.
async fn cut_chunk(
    app: &TestApp,
    token: &str,
    id: &str,
    offset: usize,
    bytes: &[u8],
    declared: usize,
) {
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "PATCH /v1/uploads/{id} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n\
         Content-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(bytes).await.expect("bytes");
    stream.flush().await.expect("flush");
    // Let the server read what arrived, then drop the line.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.shutdown().await.ok();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut sink)).await;
}

async fn offset_of(app: &TestApp, token: &str, id: &str) -> i64 {
    let r = app.get(&format!("/v1/uploads/{id}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.headers.get("upload-offset").and_then(|v| v.to_str().ok()),
        Some(r.body["offset"].to_string().as_str())
    );
    r.body["offset"].as_i64().expect("offset")
}

/// Waits until the background worker has made the derivatives.
pub async fn wait_for_derivatives(app: &TestApp, token: &str, sha: &str) {
    for _ in 0..100 {
        let r = app.get(&format!("/v1/attachments/{sha}/info"), token).await;
        if r.body["derivatives_ready"] == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the derivatives of {sha} were not made");
}

#[actix_web::test]
async fn a_photo_is_validated_stored_once_and_its_exif_read() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let photo = jpeg_with_exif(64, 48, 1);
    let sha = sha256(&photo);

    let r = put_image(&app, &admin.access, &photo).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["sha256"], sha.as_str());
    assert_eq!(r.body["media_type"], "image/jpeg");
    assert_eq!(r.body["size"], photo.len());
    assert_eq!(
        (r.body["width"].as_i64(), r.body["height"].as_i64()),
        (Some(64), Some(48))
    );
    let meta = &r.body["metadata"];
    assert_eq!(meta["captured_at"], "2026-11-20T10:30:00", "{meta}");
    assert_eq!(meta["orientation"], 6);
    let lat = meta["gps"]["latitude"].as_f64().expect("lat");
    let lon = meta["gps"]["longitude"].as_f64().expect("lon");
    assert!(
        (lat - 26.08).abs() < 0.001 && (lon - 119.3).abs() < 0.001,
        "{meta}"
    );

    // The same bytes again: nothing new is stored.
    let again = put_image(&app, &admin.access, &photo).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    // The original comes back byte-exact, with its hash as the ETag.
    let (status, headers, body) =
        get_raw(&app, &admin.access, &format!("/v1/attachments/{sha}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, photo, "byte-exact");
    assert_eq!(
        headers["etag"].to_str().ok(),
        Some(format!("\"{sha}\"").as_str())
    );
    assert!(headers["cache-control"]
        .to_str()
        .expect("cc")
        .contains("private"));
    let res = app
        .client
        .get(format!("{}/v1/attachments/{sha}", app.base))
        .bearer_auth(&admin.access)
        .header("if-none-match", format!("\"{sha}\""))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // On the local store the bytes at rest are encrypted.
    if s3_settings().is_none() {
        let at_rest = std::fs::read(
            app.data
                .path()
                .join("blobs/sha256")
                .join(&sha[..2])
                .join(&sha),
        )
        .expect("blob file");
        assert_ne!(at_rest, photo);
        assert!(!at_rest
            .windows(20)
            .any(|w| w == &photo[photo.len() - 40..photo.len() - 20]));
    }
}

#[actix_web::test]
async fn every_bad_upload_is_a_clear_4xx_and_keeps_nothing() {
    let app = TestApp::spawn_with(|c| c.max_upload_bytes = 256 * 1024).await;
    let admin = app.admin().await;
    let t = &admin.access;
    let photo = jpeg(40, 30, 2);

    // Wrong hash.
    let r = put_bytes(&app, t, &"0".repeat(64), photo.clone(), "image/jpeg").await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "sha256"
    );
    assert!(
        !holds(&app, &"0".repeat(64)),
        "nothing kept under the wrong hash"
    );
    // Not a hash.
    let r = put_bytes(&app, t, "abc", photo.clone(), "image/jpeg").await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "sha256"
    );
    // Zero bytes.
    let r = put_bytes(&app, t, &sha256(b""), Vec::new(), "image/jpeg").await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "body"
    );
    // Over the limit.
    let big = vec![0xFFu8; 300 * 1024];
    put_bytes(&app, t, &sha256(&big), big, "image/jpeg")
        .await
        .problem(413, "payload_too_large");
    // HEIC, GIF, text: 415 naming the accepted types.
    for bad in [
        heic(),
        b"GIF89a\x01\x00\x01\x00".to_vec(),
        b"hello".to_vec(),
    ] {
        let r = put_image(&app, t, &bad).await;
        let detail = r.problem(415, "unsupported_media_type")["detail"]
            .as_str()
            .expect("detail")
            .to_string();
        assert!(
            detail.contains("image/jpeg, image/png, image/webp"),
            "{detail}"
        );
    }
    let r = put_image(&app, t, &heic()).await;
    assert!(
        r.body["detail"].as_str().unwrap_or("").contains("HEIC"),
        "{}",
        r.body
    );
    // A PNG declaring 100000×100000 pixels.
    let r = put_image(&app, t, &png_bomb()).await;
    let e = r.problem(422, "validation_failed");
    assert_eq!(e["errors"][0]["field"], "body");
    assert!(e["detail"].as_str().unwrap_or("").contains("100000"), "{e}");
    // A truncated JPEG, cut at several places.
    for cut in [10, photo.len() / 3, photo.len() - 2] {
        let r = put_image(&app, t, &photo[..cut]).await;
        assert_eq!(
            r.problem(422, "validation_failed")["errors"][0]["field"],
            "body",
            "cut {cut}"
        );
    }
    // A JPEG that says it is a PNG: the bytes decide.
    let r = put_bytes(&app, t, &sha256(&photo), photo.clone(), "image/png").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["media_type"], "image/jpeg");
    // A PNG with a lying header: the right signature, garbage after.
    let mut liar = b"\x89PNG\r\n\x1a\n".to_vec();
    liar.extend(vec![7u8; 500]);
    put_image(&app, t, &liar)
        .await
        .problem(422, "validation_failed");

    // Nothing refused was left in the staging folder.
    let staged: Vec<_> = std::fs::read_dir(app.data.path().join("staging"))
        .map(|d| d.filter_map(Result::ok).collect())
        .unwrap_or_default();
    assert!(staged.is_empty(), "{staged:?}");
}

#[actix_web::test]
async fn a_resumable_upload_survives_cuts_at_any_byte() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = &admin.access;
    let photo = jpeg(300, 200, 3);
    let sha = sha256(&photo);
    let n = photo.len();

    let r = create_upload(&app, t, &sha, n).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["offset"], 0);
    let id = r.body["id"].as_str().expect("id").to_string();

    // First chunk arrives whole.
    let r = chunk(&app, t, &id, 0, &photo[..1000]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["offset"], 1000);
    // The connection drops mid-chunk at several offsets; what arrived is kept.
    let mut held = 1000;
    for arrived in [1, 777, 4096] {
        let end = (held + arrived).min(n - 10);
        cut_chunk(&app, t, &id, held, &photo[held..end], n - held).await;
        let now = offset_of(&app, t, &id).await as usize;
        assert_eq!(now, end, "the server holds what arrived before the cut");
        held = now;
    }
    // The phone resends from an older offset: the overlap is skipped, harmlessly.
    let from = held - 500;
    let mid = (held + 2000).min(n - 5);
    let r = chunk(&app, t, &id, from, &photo[from..mid]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["offset"], mid);
    // An offset beyond what the server holds is refused.
    chunk(&app, t, &id, mid + 10, &photo[mid + 10..])
        .await
        .problem(409, "offset_mismatch");
    // Finishing early says how far it is.
    app.post(&format!("/v1/uploads/{id}/finish"), Some(t), json!({}))
        .await
        .problem(409, "upload_incomplete");
    let r = chunk(&app, t, &id, mid, &photo[mid..]).await;
    assert_eq!(r.body["offset"], n);
    let r = app
        .post(&format!("/v1/uploads/{id}/finish"), Some(t), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["sha256"], sha.as_str());
    let (_, _, body) = get_raw(&app, t, &format!("/v1/attachments/{sha}")).await;
    assert_eq!(body, photo, "byte-exact after every cut");
    // The finished upload is gone.
    app.get(&format!("/v1/uploads/{id}"), t)
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn resumable_uploads_refuse_wrong_sizes_and_hashes() {
    let app = TestApp::spawn_with(|c| c.max_upload_bytes = 256 * 1024).await;
    let admin = app.admin().await;
    let t = &admin.access;
    let photo = jpeg(100, 80, 4);
    let sha = sha256(&photo);

    // Declared too small: the extra bytes are refused, naming the size.
    let id = create_upload(&app, t, &sha, photo.len() - 100).await.body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = chunk(&app, t, &id, 0, &photo).await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "size"
    );
    assert_eq!(offset_of(&app, t, &id).await, 0);
    // Declared too large: it can never finish.
    let id = create_upload(&app, t, &sha, photo.len() + 1).await.body["id"]
        .as_str()
        .expect("id")
        .to_string();
    chunk(&app, t, &id, 0, &photo).await;
    app.post(&format!("/v1/uploads/{id}/finish"), Some(t), json!({}))
        .await
        .problem(409, "upload_incomplete");
    // Zero and over the limit are refused at creation.
    let r = create_upload(&app, t, &sha, 0).await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "size"
    );
    create_upload(&app, t, &sha, 300 * 1024)
        .await
        .problem(413, "payload_too_large");
    // Wrong hash: a 422 at finish, and nothing is kept.
    let wrong = "f".repeat(64);
    let id = create_upload(&app, t, &wrong, photo.len()).await.body["id"]
        .as_str()
        .expect("id")
        .to_string();
    chunk(&app, t, &id, 0, &photo).await;
    let r = app
        .post(&format!("/v1/uploads/{id}/finish"), Some(t), json!({}))
        .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "sha256"
    );
    app.get(&format!("/v1/uploads/{id}"), t)
        .await
        .problem(404, "not_found");
    assert!(!holds(&app, &wrong), "nothing kept under the wrong hash");
    // Another user's upload does not exist for them.
    let tree = tree(&app, &admin).await;
    let other = app
        .user(&admin, "other", "coordinator", &[&tree.community_a])
        .await;
    let id = create_upload(&app, t, &sha, photo.len()).await.body["id"]
        .as_str()
        .expect("id")
        .to_string();
    app.get(&format!("/v1/uploads/{id}"), &other.access)
        .await
        .problem(404, "not_found");
    // A missing offset header is named.
    let res = app
        .client
        .patch(format!("{}/v1/uploads/{id}", app.base))
        .bearer_auth(t)
        .body(photo.clone())
        .send()
        .await
        .expect("sent");
    let r = reply(res).await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "Upload-Offset"
    );
}

#[actix_web::test]
async fn concurrent_uploads_of_the_same_bytes_store_one_attachment() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let photo = jpeg(200, 150, 5);
    let uploads = (0..6).map(|_| put_image(&app, &admin.access, &photo));
    let replies = futures_util::future::join_all(uploads).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(
        created + ok,
        6,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert!(created >= 1);
    let sha = sha256(&photo);
    let (_, _, body) = get_raw(&app, &admin.access, &format!("/v1/attachments/{sha}")).await;
    assert_eq!(body, photo);
}

#[actix_web::test]
async fn a_crash_between_blob_and_row_leaves_no_orphan_after_cleanup() {
    use liuqing_schema::attachments as store;
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let blobs = liuqing_api::startup::blob_store(&app.config).expect("store");
    let backend = app.config.backend().expect("backend");
    let pool = liuqing_schema::db::pool(&backend, 2).expect("pool");
    let db = liuqing_api::db::Db::new(pool.clone());
    let long_ago = liuqing_schema::time::now_micros() - 2 * 3600 * 1_000_000;

    // The crash: an intent and its blob, and no row.
    let orphan = jpeg(20, 20, 6);
    let orphan_sha = sha256(&orphan);
    let orphan_key = format!("sha256/{}/{orphan_sha}", &orphan_sha[..2]);
    let key = liuqing_api::blob::BlobKey::parse(&orphan_key).expect("key");
    blobs.put(&key, orphan.clone().into()).await.expect("put");
    // A finished upload whose intent removal was lost keeps its blob.
    let kept = jpeg(20, 20, 7);
    assert_eq!(
        put_image(&app, &admin.access, &kept).await.status,
        StatusCode::CREATED
    );
    let kept_sha = sha256(&kept);
    {
        let mut conn = pool.get().expect("conn");
        store::add_intent(&mut conn, "i-orphan", &orphan_key, &orphan_sha, long_ago)
            .expect("intent");
        let kept_key = format!("sha256/{}/{kept_sha}", &kept_sha[..2]);
        store::add_intent(&mut conn, "i-kept", &kept_key, &kept_sha, long_ago).expect("intent");
    }
    let cutoff = liuqing_schema::time::now_micros() - 3600 * 1_000_000;
    let removed = liuqing_api::maintenance::sweep_orphans(&db, blobs.as_ref(), cutoff)
        .await
        .expect("sweep");
    assert_eq!(removed, 1);
    assert_eq!(
        blobs.size(&key).await.expect("size"),
        None,
        "the orphan is gone"
    );
    let (status, _, body) =
        get_raw(&app, &admin.access, &format!("/v1/attachments/{kept_sha}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, kept);
    // A second sweep finds nothing.
    assert_eq!(
        liuqing_api::maintenance::sweep_orphans(&db, blobs.as_ref(), cutoff)
            .await
            .expect("sweep"),
        0
    );
}

#[actix_web::test]
async fn downloads_follow_scope_and_originals_are_logged() {
    let w = world().await;
    let app = &w.app;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 71).await;
    let photo = jpeg_with_exif(80, 60, 8);
    let sha = sha256(&photo);
    let e = new_id();
    let r = push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "evidence",
            &e,
            None,
            json!({ "person_id": p, "evidence_type": "resident_id_card", "attachment_sha256": sha }),
        )],
    )
    .await;
    assert_eq!(r[0]["status"], "applied", "{r:?}");
    assert_eq!(
        put_image(app, &w.a1.s.access, &photo).await.status,
        StatusCode::CREATED
    );

    // Staff of another station: not in scope, so it does not exist for them.
    let far = app
        .user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    for path in ["", "/info", "/thumbnail", "/review"] {
        app.get(&format!("/v1/attachments/{sha}{path}"), &far.access)
            .await
            .problem(404, "not_found");
    }
    // The other coordinator of the community sees the derivatives, not the original.
    wait_for_derivatives(app, &w.staff.access, &sha).await;
    let (status, headers, thumb) = get_raw(
        app,
        &w.a2.s.access,
        &format!("/v1/attachments/{sha}/thumbnail"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert!(headers.contains_key("etag"));
    assert!(!has_exif(&thumb), "no metadata in the thumbnail");
    app.get(&format!("/v1/attachments/{sha}"), &w.a2.s.access)
        .await
        .problem(403, "forbidden_role");
    // Staff in scope see the original; the view is logged.
    let (status, _, original) =
        get_raw(app, &w.staff.access, &format!("/v1/attachments/{sha}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(original, photo);
    let backend = app.config.backend().expect("backend");
    let mut conn = backend.connect().expect("conn");
    let log = liuqing_schema::audit::for_target(&mut conn, "attachment", &sha).expect("log");
    let staff_id = w.staff.user["id"].as_str().expect("id");
    assert!(
        log.iter()
            .any(|e| e.action == "attachment.view_original"
                && e.user_id.as_deref() == Some(staff_id)),
        "{log:?}"
    );
}

#[actix_web::test]
async fn derivatives_have_no_exif_apply_orientation_and_survive_a_restart() {
    // No worker: the job waits in the database across the restart.
    let app = TestApp::spawn_with(|c| c.derivative_workers = 0).await;
    let admin = app.admin().await;
    let photo = jpeg_with_exif(1600, 1200, 9);
    assert!(has_exif(&photo));
    let sha = sha256(&photo);
    assert_eq!(
        put_image(&app, &admin.access, &photo).await.status,
        StatusCode::CREATED
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = app
        .get(&format!("/v1/attachments/{sha}/info"), &admin.access)
        .await;
    assert_eq!(r.body["derivatives_ready"], false);
    app.get(&format!("/v1/attachments/{sha}/thumbnail"), &admin.access)
        .await
        .problem(404, "not_found");

    let (mut config, data) = app.stop().await;
    config.derivative_workers = 1;
    let app = TestApp::start(config, data).await;
    let admin = app.admin().await;
    wait_for_derivatives(&app, &admin.access, &sha).await;
    for (which, long_side) in [("thumbnail", 320), ("review", 1280)] {
        let (status, _, bytes) = get_raw(
            &app,
            &admin.access,
            &format!("/v1/attachments/{sha}/{which}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{which}");
        assert!(!has_exif(&bytes), "{which} carries no EXIF");
        let img = image::load_from_memory(&bytes).expect("decodes");
        // Orientation 6: the 1600×1200 photo is shown upright as 1200 wide, 1600 high.
        assert_eq!(img.height(), long_side, "{which}");
        assert_eq!(img.width(), long_side * 3 / 4, "{which}");
    }
}

#[actix_web::test]
async fn a_signature_keeps_its_transparency() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let sig = signature_png(400, 200);
    let sha = sha256(&sig);
    let r = put_image(&app, &admin.access, &sig).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["media_type"], "image/png");
    wait_for_derivatives(&app, &admin.access, &sha).await;
    let (_, headers, thumb) = get_raw(
        &app,
        &admin.access,
        &format!("/v1/attachments/{sha}/thumbnail"),
    )
    .await;
    assert_eq!(headers["content-type"], "image/png");
    let img = image::load_from_memory(&thumb).expect("png");
    assert!(img.color().has_alpha());
    assert_eq!((img.width(), img.height()), (320, 160));
}
