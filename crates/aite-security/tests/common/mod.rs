//! Helpers shared by the security integration tests: where ../shared is, and
//! what a missing peer tool or fixture does.

#![allow(dead_code)]

use aite_security::elf::{analyse, ElfHardening, Pie, Relro};
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// Whether Debian's `checksec` runs (skips or fails as [`skip_or_fail`] says when not).
pub fn checksec_available() -> bool {
    let ok = Command::new("checksec").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        skip_or_fail("`checksec` is not installed (apt-get install checksec; bash .ci/run does)");
    }
    ok
}

/// checksec's JSON verdict for one file.
pub fn checksec(file: &Path) -> serde_json::Value {
    let out = Command::new("checksec").arg(format!("--file={}", file.display())).arg("--output=json").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("checksec JSON for {}: {e}: {}", file.display(), String::from_utf8_lossy(&out.stdout)));
    v.as_object().unwrap().values().next().unwrap().clone()
}

/// aite's hardening row of one ELF file in checksec's JSON vocabulary (`None`: not an ELF aite parses).
pub fn ours(path: &str, bytes: &[u8]) -> Option<serde_json::Value> {
    Some(checksec_row(&analyse(path, bytes, None)?))
}

/// A hardening row in checksec's JSON vocabulary.
pub fn checksec_row(h: &ElfHardening) -> serde_json::Value {
    let yn = |b: bool| if b { "yes" } else { "no" };
    serde_json::json!({
        "relro": match h.relro { Relro::Full => "full", Relro::Partial => "partial", Relro::None => "no" },
        "canary": yn(h.canary),
        "nx": yn(h.nx),
        "pie": match h.pie { Pie::Yes => "yes", Pie::No => "no", Pie::Dso => "dso", Pie::Rel => "rel" },
        "rpath": yn(!h.rpath.is_empty()),
        "runpath": yn(!h.runpath.is_empty()),
        "symbols": yn(h.symbols),
        "fortify_source": yn(h.fortify),
    })
}


/// The hardening columns aite and checksec both report.
pub const CHECKSEC_COLUMNS: [&str; 8] = ["relro", "canary", "nx", "pie", "rpath", "runpath", "symbols", "fortify_source"];

/// checksec's verdict on `file`, reduced to [`CHECKSEC_COLUMNS`] (its FORTIFY counts dropped).
pub fn checksec_columns(file: &Path) -> serde_json::Value {
    let v = checksec(file);
    CHECKSEC_COLUMNS.iter().map(|c| (c.to_string(), v[*c].clone())).collect::<serde_json::Map<_, _>>().into()
}
