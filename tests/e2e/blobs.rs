//! One test suite for every blob store: the local folder always, and an S3-protocol server
//! when `LIUQING_TEST_S3_ENDPOINT` names one (`.ci/run` starts one on 127.0.0.1).

use std::sync::Arc;

use bytes::Bytes;
use liuqing_api::blob::{BlobError, BlobKey, BlobStore, LocalStore, S3Store};

fn key(k: &str) -> BlobKey {
    BlobKey::parse(k).expect("valid key")
}

async fn suite(store: Arc<dyn BlobStore>) {
    store.check().await.expect("reachable");
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    let a = key(&format!("{prefix}/sha256/ab/abcdef"));
    assert_eq!(store.get(&a).await.expect("get"), None);
    assert_eq!(store.size(&a).await.expect("size"), None);

    let bytes = Bytes::from((0..=255u8).cycle().take(300_000).collect::<Vec<u8>>());
    store.put(&a, bytes.clone()).await.expect("put");
    assert_eq!(
        store.get(&a).await.expect("get"),
        Some(bytes.clone()),
        "byte-exact"
    );
    assert_eq!(store.size(&a).await.expect("size"), Some(300_000));

    // Writing the same key again is harmless; a different object replaces it whole.
    store.put(&a, bytes.clone()).await.expect("put again");
    assert_eq!(store.get(&a).await.expect("get"), Some(bytes));
    store
        .put(&a, Bytes::from_static(b"small"))
        .await
        .expect("overwrite");
    assert_eq!(
        store.get(&a).await.expect("get"),
        Some(Bytes::from_static(b"small"))
    );

    // Empty objects are objects.
    let empty = key(&format!("{prefix}/empty"));
    store.put(&empty, Bytes::new()).await.expect("put empty");
    assert_eq!(store.size(&empty).await.expect("size"), Some(0));

    store.delete(&a).await.expect("delete");
    assert_eq!(store.get(&a).await.expect("get"), None);
    store
        .delete(&a)
        .await
        .expect("deleting a missing object is fine");

    // Concurrent writers of the same key leave one whole object.
    let c = key(&format!("{prefix}/concurrent"));
    let writes = (0..8u8).map(|i| {
        let store = store.clone();
        let c = c.clone();
        async move { store.put(&c, Bytes::from(vec![i; 100_000])).await }
    });
    for r in futures_util::future::join_all(writes).await {
        r.expect("concurrent put");
    }
    let got = store.get(&c).await.expect("get").expect("present");
    assert_eq!(got.len(), 100_000);
    assert!(got.iter().all(|b| *b == got[0]), "no torn object");
}

#[test]
fn keys_cannot_escape_the_store() {
    for bad in [
        "", "/abs", "a/../b", "..", "a//b", "A", "a b", "a/./b", "a\\b",
    ] {
        assert!(
            matches!(BlobKey::parse(bad), Err(BlobError::BadKey(_))),
            "{bad:?}"
        );
    }
    assert!(BlobKey::parse("sha256/ab/0123-x_y.z").is_ok());
}

#[actix_web::test]
async fn local_store_passes_the_suite() {
    let dir = tempfile::tempdir().expect("dir");
    suite(Arc::new(LocalStore::open(dir.path()).expect("open"))).await;
    // Nothing half-written is left in the temporary folder.
    assert_eq!(
        std::fs::read_dir(dir.path().join(".tmp"))
            .expect("tmp")
            .count(),
        0
    );
}

#[actix_web::test]
async fn s3_store_passes_the_suite() {
    let Some(settings) = crate::helpers::s3_settings() else {
        eprintln!("LIUQING_TEST_S3_ENDPOINT is not set: the S3 suite runs in .ci/run");
        return;
    };
    suite(Arc::new(S3Store::new(&settings).expect("store"))).await;
}
