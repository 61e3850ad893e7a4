//! Helpers shared by the integration tests.

#![allow(clippy::unwrap_used)] // tests fail loudly

use std::path::PathBuf;

/// `$TEXTRNN_ARTIFACTS/<sub>` or `target/test-artifacts/<sub>`, created if missing.
pub fn artifacts(sub: &str) -> PathBuf {
    let base = std::env::var_os("TEXTRNN_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts")
        });
    let dir = base.join(sub);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
