//! Helpers shared by the end-to-end tests: run the real binary in a temp dir.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn aite() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aite"))
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
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
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

/// `../shared/assets` beside the repository, if present.
pub fn shared_assets() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets");
    if p.join("models").is_dir() {
        Some(p.canonicalize().unwrap())
    } else {
        eprintln!("skipping: ../shared/assets is absent (real models and images live there)");
        None
    }
}
