//! The deep store on a local directory and on an S3 server (moto, which
//! `tests/services.sh` starts as `GAMAY_TEST_S3`).

use super::*;

async fn round_trip(store: &DeepStore, scratch: &Path) {
    let file = scratch.join("seg.gamay");
    std::fs::write(&file, b"segment bytes").unwrap();
    assert_eq!(
        store
            .upload("trades_REALTIME", "trades__0__0", &file)
            .await
            .unwrap(),
        Uploaded::Written
    );
    // A replay after a crash finds its own bytes.
    assert_eq!(
        store
            .upload("trades_REALTIME", "trades__0__0", &file)
            .await
            .unwrap(),
        Uploaded::AlreadyThere
    );
    // Other bytes under the same name are refused and left alone.
    let other = scratch.join("other.gamay");
    std::fs::write(&other, b"other").unwrap();
    let err = store
        .upload("trades_REALTIME", "trades__0__0", &other)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OtherContents {
                existing: 13,
                uploaded: 5,
                ..
            }
        ),
        "{err}"
    );

    let dest = scratch.join("cache/trades_REALTIME/trades__0__0");
    store
        .download("trades_REALTIME", "trades__0__0", &dest)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"segment bytes");
    let leftovers: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    let missing = scratch.join("cache/none");
    let err = store
        .download("trades_REALTIME", "trades__0__9", &missing)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Missing(_)), "{err}");
    assert!(!missing.exists());
}

#[tokio::test]
async fn a_local_directory_store_keeps_segments_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("deep");
    let url = format!("file://{}", root.display());
    let store = DeepStore::open(&url).unwrap();
    round_trip(&store, dir.path()).await;
    assert!(root.join("trades_REALTIME/trades__0__0").is_file());
    assert_eq!(
        store.uri("trades_REALTIME", "trades__0__0").unwrap(),
        format!("{url}/trades_REALTIME/trades__0__0")
    );
    for bad in ["..", "a/b", "", "."] {
        let err = store.uri("trades_REALTIME", bad).unwrap_err();
        assert!(matches!(err, Error::Name(_)), "{bad}: {err}");
    }
}

/// Files past the single-request size go up in parts and come down the
/// same, each kept once.
async fn in_parts(store: DeepStore, scratch: &Path) {
    let store = DeepStore {
        single_put_max: 1024,
        part_size: 5 << 20,
        ..store
    };
    // Three parts: two full ones and the rest.
    let bytes: Vec<u8> = (0..(11u32 << 20)).map(|i| (i % 251) as u8).collect();
    let file = scratch.join("big.gamay");
    std::fs::write(&file, &bytes).unwrap();
    let upload = || store.upload("trades_OFFLINE", "big", &file);
    assert_eq!(upload().await.unwrap(), Uploaded::Written);
    assert_eq!(upload().await.unwrap(), Uploaded::AlreadyThere);
    let other = scratch.join("other-big.gamay");
    std::fs::write(&other, &bytes[1..]).unwrap();
    let err = store
        .upload("trades_OFFLINE", "big", &other)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OtherContents { .. }), "{err}");
    // Staged parts never stay behind.
    use futures_util::TryStreamExt;
    let listed: Vec<_> = store.store.list(None).try_collect().await.unwrap();
    let staged: Vec<_> = listed
        .iter()
        .filter(|meta| meta.location.as_ref().contains(".upload-"))
        .collect();
    assert!(staged.is_empty(), "{staged:?}");
    let dest = scratch.join("cache/big");
    // Checked against another record's size and CRC: refused, nothing left.
    let crc = crc32c::crc32c(&bytes);
    let size = bytes.len() as u64;
    let err = store
        .download_checked("trades_OFFLINE", "big", &dest, size, crc ^ 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(!dest.exists());
    let left: Vec<_> = std::fs::read_dir(scratch.join("cache"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("big"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    store
        .download_checked("trades_OFFLINE", "big", &dest, size, crc)
        .await
        .unwrap();
    store
        .download("trades_OFFLINE", "big", &dest)
        .await
        .unwrap();
    assert!(std::fs::read(&dest).unwrap() == bytes);
    assert_eq!(
        checksum(&dest).unwrap(),
        (bytes.len() as u64, crc32c::crc32c(&bytes))
    );
}

#[tokio::test]
async fn a_local_directory_store_takes_large_files_in_parts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("deep").display());
    in_parts(DeepStore::open(&url).unwrap(), dir.path()).await;
}

#[test]
fn store_urls_are_checked() {
    for (url, needle) in [
        ("file://relative/dir", "absolute directory"),
        ("s3:///prefix", "needs a bucket"),
        ("hdfs://cluster/dir", "s3://bucket/prefix or file:///dir"),
    ] {
        let err = DeepStore::open(url).err().unwrap().to_string();
        assert!(err.contains(needle), "{url}: {err}");
    }
}

#[tokio::test]
async fn an_s3_store_keeps_segments_once() {
    let Ok(endpoint) = std::env::var("GAMAY_TEST_S3") else {
        assert!(
            std::env::var("GAMAY_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "GAMAY_TEST_S3 is not set: run the tests through tests/run"
        );
        return;
    };
    let bucket = format!(
        "gamay-deep-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let created = ureq::put(&format!("{endpoint}/{bucket}"))
        .set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0")
        .call();
    assert!(created.is_ok(), "cannot create bucket: {created:?}");
    let store = DeepStore::open_s3_at(&endpoint, &bucket, "cluster-a/", "test", "test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    round_trip(&store, dir.path()).await;
    assert_eq!(
        store.uri("trades_REALTIME", "trades__0__0").unwrap(),
        format!("s3://{bucket}/cluster-a/trades_REALTIME/trades__0__0")
    );
    in_parts(store, dir.path()).await;
}
