//! Helpers shared by the security integration tests: where ../shared is, and
//! what a missing peer tool or fixture does.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A test that cannot run because `reason` (a peer tool or fixture is missing):
/// under `AITE_REQUIRE_PEERS=1` (`.ci/run` sets it) the test fails, otherwise
/// it prints why it is skipped.
pub fn skip_or_fail(reason: &str) {
    if std::env::var_os("AITE_REQUIRE_PEERS").is_some_and(|v| v == "1") {
        panic!("AITE_REQUIRE_PEERS=1 and {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// `../shared/assets/security/<rel>` beside the repository, if present.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/security").join(rel);
    if p.exists() {
        Some(p)
    } else {
        skip_or_fail(&format!("{} is absent (../shared holds the real test material)", p.display()));
        None
    }
}

/// The peer virtualenv's interpreter named by `AITE_PEER_PYTHON` (`.ci/run` builds it).
pub fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("AITE_PEER_PYTHON") {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ => {
            skip_or_fail("AITE_PEER_PYTHON is not set to the peer virtualenv's python (bash .ci/run builds target/peers-venv)");
            None
        }
    }
}

/// The Debian arm64/armhf root filesystems `.ci/debian-rootfs.sh` assembles (`AITE_DEBIAN_ROOTFS`).
pub fn debian_rootfs() -> Option<PathBuf> {
    match std::env::var_os("AITE_DEBIAN_ROOTFS") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            skip_or_fail("AITE_DEBIAN_ROOTFS is not set (bash .ci/debian-rootfs.sh DEST builds it; .ci/run does)");
            None
        }
    }
}
