//! A partial consistency run (one shard of `--shard I/N`, or `aite merge` of some shards only)
//! never passes a consistency requirement: the `consistency_shard` record it carries makes
//! ROB-REPEATABILITY, ROB-BATCH-*, ROB-AGREEMENT and ROB-DEGENERATE NOT_TESTED, while the same
//! suites without the record (the single run, the full merge) get their verdicts.

use aite_assessment::{assess, shipped, OverallVerdict, Verdict};
use serde_json::{json, Value};

const CONSISTENCY: [&str; 5] = ["ROB-REPEATABILITY", "ROB-BATCH-INVARIANCE", "ROB-BATCH-TOP1", "ROB-AGREEMENT", "ROB-DEGENERATE"];

/// The consistency suites of a run of `samples` samples, each figure passing the shipped thresholds
/// (bit-identical, 0 difference and flips, 24/24 agreement, every degenerate frame graceful).
fn suites(samples: u64, kinds: &[&str]) -> Value {
    let degenerate: Vec<Value> = kinds.iter().map(|k| json!({ "kind": k, "verdict": "graceful" })).collect();
    json!({
        "repeatability": { "samples": samples, "repeats": 3, "identical": true, "max_abs_diff": 0.0, "top1_flips": 0, "non_finite_answers": 0 },
        "batch_invariance": { "batch": 4, "samples": samples / 4 * 4, "max_abs_diff": 0.0, "top1_flips": 0, "within_tolerance": true, "tolerance": 1e-4 },
        // Wilson 95% of n/n is above 0.95 for n >= 74: 100 samples keep ROB-AGREEMENT decidable.
        "agreement": { "top1_agreement": { "successes": samples, "trials": samples, "value": 1.0, "ci95_low": 0.963, "ci95_high": 1.0 } },
        "degenerate_frames": degenerate,
    })
}

const KINDS: [&str; 8] = ["all-black", "all-white", "uniform-noise", "saturated", "nan", "positive-infinity", "negative-infinity", "wrong-size"];

fn verdicts(results: &Value) -> Vec<(String, Verdict)> {
    let p = shipped("reference-terminal").unwrap();
    assess(&p, results).requirements.into_iter().filter(|r| CONSISTENCY.contains(&r.id.as_str())).map(|r| (r.id, r.verdict)).collect()
}

#[test]
fn a_shard_or_a_partial_merge_never_passes_a_consistency_requirement() {
    // The single run (and the full merge, which drops the shard record): every one PASSes.
    let single = json!({ "status": "complete", "suites": suites(100, &KINDS) });
    let whole = verdicts(&single);
    assert_eq!(whole.len(), CONSISTENCY.len());
    for (id, v) in &whole {
        assert_eq!(*v, Verdict::Pass, "{id} on the single run");
    }

    // Shard 0 of 2 alone (status complete: the shard finished its part): samples 0, 2, ..., 98,
    // degenerate kinds at even positions; the figures pass on their own but hold half the run.
    let even: Vec<&str> = KINDS.iter().step_by(2).copied().collect();
    let mut shard = json!({ "status": "complete", "suites": suites(50, &even) });
    shard["suites"]["consistency_shard"] = json!({ "count": 2, "shards": [0], "samples": 100, "batch": 4,
        "examined": (0..100).step_by(2).collect::<Vec<u64>>(), "ids": [], "batch_groups": (0..25).step_by(2).collect::<Vec<u64>>(),
        "degenerate_frames": even, "missing_samples": 50 });
    for (id, v) in verdicts(&shard) {
        let Verdict::NotTested { why } = &v else { panic!("{id} on shard 0/2 is {v:?}, not NOT_TESTED") };
        assert!(why.contains("partial: 50 of 100 samples missing (shard 0/2 only)"), "{id}: {why}");
        if id == "ROB-DEGENERATE" {
            assert!(why.contains("all-black, uniform-noise, nan, negative-infinity"), "{why}");
        }
    }
    let p = shipped("reference-terminal").unwrap();
    let a = assess(&p, &shard);
    assert_ne!(a.overall, OverallVerdict::Pass);
    let rep = a.requirements.iter().find(|r| r.id == "ROB-REPEATABILITY").unwrap();
    assert!(rep.evidence.contains(&"/suites/consistency_shard".to_string()), "{:?}", rep.evidence);

    // `aite merge` of shards 0 and 2 of 3 (status interrupted, the record kept with what is missing).
    let mut merged = json!({ "status": "interrupted", "suites": suites(67, &KINDS[..6]) });
    merged["suites"]["consistency_shard"] = json!({ "count": 3, "shards": [0, 2], "samples": 100, "batch": 4,
        "examined": [], "ids": [], "batch_groups": [], "degenerate_frames": KINDS[..6], "missing_samples": 33 });
    for (id, v) in verdicts(&merged) {
        assert!(matches!(&v, Verdict::NotTested { why } if why.contains("partial: 33 of 100 samples missing (shard 0+2/3 only)")), "{id}: {v:?}");
    }

    // A failure on a shard is NOT_TESTED too (a partial run judges nothing), the note keeping what it would be.
    let mut failing = shard.clone();
    failing["suites"]["repeatability"]["identical"] = json!(false);
    let r = assess(&p, &failing).requirements.into_iter().find(|r| r.id == "ROB-REPEATABILITY").unwrap();
    assert!(matches!(r.verdict, Verdict::NotTested { .. }) && r.note.contains("would be FAIL"), "{:?} {}", r.verdict, r.note);
}
