//! The results reader: `results.json` as `aite merge` and the renderers read it.
#![no_main]

use aite_evidence::Results;
use aite_report::{Renderer, TerminalRenderer};
use aite_robustness::corruption::{merge_reports, CorruptionReport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(results) = serde_json::from_slice::<Results>(data) else { return };
    let _ = TerminalRenderer.render(&results);
    if let Some(suite) = results.suites.get("corruptions") {
        if let Ok(report) = serde_json::from_value::<CorruptionReport>(suite.clone()) {
            let _ = merge_reports(&[report.clone(), report]);
        }
    }
});
