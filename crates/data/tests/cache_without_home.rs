//! The cache without `HOME` (issue #13 item 8): a private per-user directory in the temp dir,
//! never the world-writable `/tmp/.cache`. One test per binary section that changes the
//! environment, so no other test sees it.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use textrnn_data::options::private_temp_cache;
use textrnn_data::LoadOptions;

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o777
}

#[test]
fn without_home_the_cache_is_a_private_directory_of_this_user() {
    let tmp = tempfile::tempdir().unwrap();
    let uid = std::fs::metadata(tmp.path()).unwrap().uid();
    let pid = std::process::id();
    let shared = tmp.path().join(format!("textrnn-cache-{uid}"));

    // The environment of this test binary only (its single test).
    for var in [
        "HOME",
        "USERPROFILE",
        "XDG_CACHE_HOME",
        "TEXTRNN_CACHE",
        "HF_HOME",
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("TMPDIR", tmp.path());
    std::env::set_var("TEXTRNN_MAX_MEMBER_BYTES", "2M");
    std::env::set_var("TEXTRNN_MAX_ARCHIVE_BYTES", "lots");
    let opts = LoadOptions::from_env();
    assert_eq!(opts.cache_dir, shared);
    assert_eq!(opts.hub.cache_dir, Some(shared.join("huggingface")));
    assert_eq!(opts.max_member_bytes, 2 << 20);
    assert_eq!(opts.max_archive_bytes, 1 << 30); // "lots" is warned about
    assert!(std::fs::symlink_metadata(&shared).unwrap().is_dir());
    assert_eq!(mode(&shared), 0o700);
    // Again: the same directory, still private.
    assert_eq!(private_temp_cache(tmp.path()), shared);

    // Opened to others: not trusted; a fresh private directory for this process instead.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let fresh = private_temp_cache(tmp.path());
    assert_eq!(
        fresh,
        tmp.path().join(format!("textrnn-cache-{uid}-{pid}-0"))
    );
    assert_eq!(mode(&fresh), 0o700);

    // A symbolic link planted at the name: not followed.
    let other = tempfile::tempdir().unwrap();
    let planted_tmp = other.path().join("tmp");
    std::fs::create_dir(&planted_tmp).unwrap();
    let target = other.path().join("attacker");
    std::fs::create_dir(&target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&target, planted_tmp.join(format!("textrnn-cache-{uid}"))).unwrap();
    let chosen = private_temp_cache(&planted_tmp);
    assert_eq!(
        chosen,
        planted_tmp.join(format!("textrnn-cache-{uid}-{pid}-0"))
    );
    assert!(std::fs::symlink_metadata(&chosen).unwrap().is_dir());

    // Owned by another user (only root can set that up here).
    if uid == 0 {
        let owned_tmp = other.path().join("owned");
        std::fs::create_dir(&owned_tmp).unwrap();
        let theirs = owned_tmp.join("textrnn-cache-0");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&theirs, Some(12345), None).unwrap();
        assert_eq!(
            private_temp_cache(&owned_tmp),
            owned_tmp.join(format!("textrnn-cache-0-{pid}-0"))
        );
    }
}
