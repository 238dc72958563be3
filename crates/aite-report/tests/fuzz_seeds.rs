//! The `results` fuzz target's inputs replayed without libFuzzer: every file of
//! `fuzz/seeds/results/` and every crash reproducer libFuzzer left in
//! `fuzz/artifacts/results/` (`crash-*`, `leak-*`, `timeout-*`, `oom-*`, `slow-unit-*`) goes
//! through the target's body (`fuzz/fuzz_targets/results.rs`): the results reader, the
//! terminal renderer and the corruption merge. An `Err` is fine; a panic fails, naming the file.

use aite_evidence::Results;
use aite_report::{Renderer, TerminalRenderer};
use aite_robustness::corruption::{merge_reports, CorruptionReport};
use std::path::{Path, PathBuf};

/// The body of `fuzz/fuzz_targets/results.rs`; true when the bytes were read as results.
fn results_target(data: &[u8]) -> bool {
    let Ok(results) = serde_json::from_slice::<Results>(data) else { return false };
    let _ = TerminalRenderer.render(&results);
    if let Some(suite) = results.suites.get("corruptions") {
        if let Ok(report) = serde_json::from_value::<CorruptionReport>(suite.clone()) {
            let _ = merge_reports(&[report.clone(), report]);
        }
    }
    true
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(&keep)).collect();
    v.sort();
    v
}

/// libFuzzer's names for the inputs it stopped on (its log, fuzz-0.log, is not one).
fn reproducer(name: &str) -> bool {
    ["crash-", "leak-", "timeout-", "oom-", "slow-unit-"].iter().any(|p| name.starts_with(p))
}

#[test]
fn results_fuzz_seeds_and_crash_reproducers_do_not_panic() {
    let seeds = files(&fuzz_dir().join("seeds/results"), |_| true);
    // The repository ships three seeds (accuracy, robustness, security), each a readable
    // results.json, so the renderer and the merge are really reached.
    assert!(seeds.len() >= 3, "fuzz/seeds/results/ holds {} files: {seeds:?}", seeds.len());
    let crashes = files(&fuzz_dir().join("artifacts/results"), reproducer);
    let mut panicked = Vec::new();
    for path in seeds.iter().chain(&crashes) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match std::panic::catch_unwind(|| results_target(&data)) {
            Ok(read) => assert!(read || !seeds.contains(path), "seed {} is no longer a readable results.json", path.display()),
            Err(_) => panicked.push(path.display().to_string()),
        }
    }
    assert!(panicked.is_empty(), "the results fuzz target panics on: {panicked:?}");
    eprintln!("results fuzz target: {} seeds and {} crash reproducers replayed", seeds.len(), crashes.len());
}
