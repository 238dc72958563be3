//! Helpers shared by the end-to-end tests: run the real binary in a temp dir.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary, with its history database in the test's target folder (never the
/// user's data folder); a test that cares passes `--db`.
pub fn aite() -> Command {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let db = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("history-{}-{n}.sqlite3", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aite"));
    cmd.env("AITE_HISTORY_DB", db);
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let Output { status, stdout, stderr } = cmd.output().expect("aite binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// The single run folder created under `out`.
pub fn run_folder(out: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("out exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(dirs.len(), 1, "one run folder expected: {dirs:?}");
    dirs.pop().unwrap()
}

pub fn results(folder: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(folder.join("results.json")).unwrap()).unwrap()
}

/// Write the reference fp32 model to `dir` and return its path.
pub fn reference_model(dir: &Path) -> PathBuf {
    let p = dir.join("digits.onnx");
    std::fs::write(&p, aite_reference::MODEL_FP32).unwrap();
    p
}

/// Write the reference held-out images as a CSV-manifest dataset; returns the CSV path.
pub fn reference_dataset(dir: &Path, n: usize) -> PathBuf {
    let ds = aite_reference::dataset();
    let root = dir.join("digits");
    std::fs::create_dir_all(&root).unwrap();
    let mut csv = String::from("path,label\n");
    for s in ds.samples.iter().take(n) {
        std::fs::write(root.join(&s.id), s.bytes().unwrap()).unwrap();
        csv.push_str(&format!("{},{}\n", s.id, s.label.unwrap()));
    }
    let p = root.join("labels.csv");
    std::fs::write(&p, csv).unwrap();
    p
}

/// A test that cannot run because `reason` (a peer tool or fixture is missing):
/// under `AITE_REQUIRE_PEERS=1` (`.ci/run` sets it) the test fails, otherwise
/// it prints why it is skipped.
pub fn skip_or_fail(reason: &str) {
    if std::env::var_os("AITE_REQUIRE_PEERS").is_some_and(|v| v == "1") {
        panic!("AITE_REQUIRE_PEERS=1 and {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// `../shared/assets` beside the repository, if present.
pub fn shared_assets() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets");
    if p.join("models").is_dir() {
        Some(p.canonicalize().unwrap())
    } else {
        skip_or_fail("../shared/assets is absent (real models and images live there)");
        None
    }
}

/// The peer virtualenv's interpreter named by `AITE_PEER_PYTHON` (`.ci/run` builds it).
pub fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("AITE_PEER_PYTHON") {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ => {
            skip_or_fail("AITE_PEER_PYTHON is not set to a Python with imagecorruptions, ART, picklescan and modelscan (bash .ci/run builds target/peers-venv)");
            None
        }
    }
}

/// The lines of `stdout` that start with `prefix`.
pub fn lines_starting<'a>(stdout: &'a str, prefix: &str) -> Vec<&'a str> {
    stdout.lines().filter(|l| l.starts_with(prefix)).collect()
}
