//! The metric catalogue: every results.json path a profile may read, with its
//! unit, its kind (how a value and its interval are read) and the statistics
//! it offers. A profile naming a path outside this table is rejected.

use serde::Serialize;

/// How a metric is read from results.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricKind {
    /// `{successes, trials, value, ci95_low, ci95_high}`: a proportion with its Wilson 95% interval.
    Proportion,
    /// A latency summary (`p50_ms` .. `p999_ms`, `count`); with `early_stopping` beside it when `guarded`.
    LatencySummary,
    /// A plain number.
    Number,
    /// A non-negative integer count.
    Count,
    /// A boolean.
    Flag,
    /// One rule's outcome in `suites.security.rules` (pass / fail / notApplicable / notChecked).
    SecurityRule,
    /// A verdict object `{status, why}` written by the suite itself.
    SuiteVerdict,
    /// `suites.degenerate_frames`: frames answered without grace, of those run.
    DegenerateFrames,
    /// `suites.corruptions`: accuracy drops from clean, per corruption group and severity.
    Corruptions,
    /// `suites.security.vulnerability_summary`: the highest CVSS base score of the
    /// known vulnerabilities matched against an OSV feed. No feed, an empty feed, no
    /// component inventoried or a matched vulnerability without a score never pass.
    CvssBound,
    /// `{value, ci95_low, ci95_high}`: an estimate with its percentile-bootstrap 95% interval
    /// (the detector sweep's mPC, rPC). `null` is a figure the suite withheld: NOT_TESTED with
    /// the suite's reason (`rpc_status`), never a pass.
    Estimate,
}

/// Where a guarded decision takes its interval from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntervalSource {
    /// No interval: only `simple` applies.
    None,
    /// The Wilson 95% interval recorded with the proportion.
    Wilson,
    /// LoadGen's early-stopping estimate (upper) and an order-statistic lower bound.
    EarlyStopping,
    /// The percentile-bootstrap 95% interval recorded with the estimate.
    Bootstrap,
}

/// One catalogue entry.
#[derive(Debug, Clone, Serialize)]
pub struct MetricSpec {
    /// Dotted path into results.json; a trailing `*` stands for one rule id.
    pub path: &'static str,
    pub kind: MetricKind,
    pub unit: &'static str,
    pub statistics: &'static [&'static str],
    pub interval: IntervalSource,
    pub doc: &'static str,
}

const PERCENTILES: &[&str] = &["p50", "p90", "p95", "p97", "p99", "p999", "max", "mean"];
const VALUE: &[&str] = &["value"];

macro_rules! m {
    ($path:expr, $kind:ident, $unit:expr, $stats:expr, $iv:ident, $doc:expr) => {
        MetricSpec { path: $path, kind: MetricKind::$kind, unit: $unit, statistics: $stats, interval: IntervalSource::$iv, doc: $doc }
    };
}

/// Every metric a profile may name.
pub const CATALOGUE: &[MetricSpec] = &[
    m!("suites.accuracy.top1", Proportion, "fraction", VALUE, Wilson, "top-1 accuracy of the deployed model"),
    m!("suites.accuracy_reference.top1", Proportion, "fraction", VALUE, Wilson, "top-1 accuracy of the reference (e.g. fp32) model"),
    m!("suites.accuracy_int8.top1", Proportion, "fraction", VALUE, Wilson, "top-1 accuracy of the int8 model (demo)"),
    m!("suites.latency.latency", LatencySummary, "ms", PERCENTILES, EarlyStopping, "latency of the main latency run"),
    m!("suites.latency_periodic.latency", LatencySummary, "ms", PERCENTILES, EarlyStopping, "end-to-end latency in the periodic camera scenario"),
    m!("suites.latency_periodic.after_idle", LatencySummary, "ms", PERCENTILES, None, "latency of the first frame after each idle gap"),
    m!("suites.latency_periodic.steady", LatencySummary, "ms", PERCENTILES, None, "latency of the frames inside a burst"),
    m!("suites.latency_periodic.deadline_misses", Count, "count", VALUE, None, "frames whose result came after the next frame was due"),
    m!("suites.latency.throughput_sps", Number, "samples/s", VALUE, None, "answered samples per second over the run's window (start to last completion, failed queries included). Offline: LoadGen's figure of merit, every sample issued at once (issue to the last completed batch); single-stream, multi-stream, server and periodic: the rate the scenario's own pacing let through (one query at a time, its fps or qps), not the system's capacity"),
    m!("suites.latency.validity.valid", Flag, "bool", VALUE, None, "the latency run is VALID per LoadGen's rules"),
    m!("suites.latency_periodic.validity.valid", Flag, "bool", VALUE, None, "the periodic run is VALID"),
    m!("suites.latency.drift.last_to_first_ratio", Number, "ratio", VALUE, None, "p50 of the last window over the first"),
    m!("suites.latency_periodic.drift.last_to_first_ratio", Number, "ratio", VALUE, None, "p50 of the last window over the first (periodic)"),
    m!("suites.cold_start.load_ms", Number, "ms", VALUE, None, "model load time"),
    m!("suites.cold_start.first_inference_ms", Number, "ms", VALUE, None, "first inference after load"),
    m!("suites.caching_audit.verdict", SuiteVerdict, "verdict", &["status"], None, "the caching audit's own verdict"),
    m!("suites.corruptions", Corruptions, "fraction", &["imagenet_c_drop_s3", "camera_drop_s3"], None, "clean accuracy minus the mean accuracy of a group's cells at severity 3"),
    m!("suites.corruptions.mean_corruption_accuracy", Proportion, "fraction", VALUE, Wilson, "accuracy over every corruption cell"),
    m!("suites.attack_square_linf.robust_accuracy", Proportion, "fraction", VALUE, Wilson, "accuracy under the Square L-inf attack (float channel)"),
    m!("suites.attack_square_linf.robust_accuracy_uint8", Proportion, "fraction", VALUE, Wilson, "Square robust accuracy after uint8 rounding of the adversarial frame"),
    m!("suites.attack_square_linf.robust_accuracy_jpeg", Proportion, "fraction", VALUE, Wilson, "Square robust accuracy after JPEG re-encoding"),
    m!("suites.attack_spsa_linf.robust_accuracy", Proportion, "fraction", VALUE, Wilson, "accuracy under the SPSA L-inf attack (float channel)"),
    m!("suites.attack_spsa_linf.robust_accuracy_uint8", Proportion, "fraction", VALUE, Wilson, "SPSA robust accuracy after uint8 rounding of the adversarial frame"),
    m!("suites.attack_spsa_linf.robust_accuracy_jpeg", Proportion, "fraction", VALUE, Wilson, "SPSA robust accuracy after JPEG re-encoding"),
    m!("suites.attack_worst_case.linf.robust_accuracy", Proportion, "fraction", VALUE, Wilson, "worst case over the L-inf attacks run"),
    m!("suites.repeatability.identical", Flag, "bool", VALUE, None, "repeated answers bit-identical and finite"),
    m!("suites.batch_invariance.within_tolerance", Flag, "bool", VALUE, None, "batched answers within tolerance, no top-1 flips"),
    m!("suites.batch_invariance.max_abs_diff", Number, "abs", VALUE, None, "largest absolute difference between batched and single answers (NaN when an answer holds NaN)"),
    m!("suites.batch_invariance.top1_flips", Count, "count", VALUE, None, "frames whose top-1 answer changed when batched"),
    m!("suites.agreement.top1_agreement", Proportion, "fraction", VALUE, Wilson, "deployed model's top-1 agreement with its reference"),
    m!("suites.degenerate_frames", DegenerateFrames, "count", &["not_graceful"], None, "degenerate frames run and answered without grace"),
    m!("suites.detection_repeatability.identical", Flag, "bool", VALUE, None, "a detector's repeated detections bit-identical and its outputs finite"),
    m!("suites.detection_repeatability.count_mismatches", Count, "count", VALUE, None, "frames whose number of detections changed between repeats"),
    m!("suites.detection_batch_invariance.within_tolerance", Flag, "bool", VALUE, None, "a detector's batched detections within tolerance, same counts"),
    m!("suites.detection_agreement.frame_agreement", Proportion, "fraction", VALUE, Wilson, "frames on which every detection of the deployed detector and its reference is matched at IoU 0.5"),
    m!("suites.detection_accuracy.ap", Number, "fraction", VALUE, None, "a detector's COCO AP@[.5:.95] against labels (all areas, 100 detections)"),
    m!("suites.detection_accuracy.ap50", Number, "fraction", VALUE, None, "a detector's COCO AP at IoU 0.5 against labels"),
    m!("suites.detection_corruptions.mpc", Estimate, "fraction", VALUE, Bootstrap, "mPC: a detector's mean AP over the corruption cells (Michaelis et al. 2019), against the sweep's ground truth"),
    m!("suites.detection_corruptions.mpc50", Estimate, "fraction", VALUE, Bootstrap, "mean AP50 over the corruption cells"),
    m!("suites.detection_corruptions.rpc", Estimate, "ratio", VALUE, Bootstrap, "rPC = mPC / clean AP; withheld against the model's own clean predictions (1 by construction)"),
    m!("suites.detector_attack_square_linf.success_rate", Proportion, "fraction", VALUE, Wilson, "vanishing Square L-inf attack on a detector: frames whose every detection vanished, of the frames with a clean detection (Wilson 95%)"),
    m!("suites.detector_attack_square_linf.noise_success_rate", Proportion, "fraction", VALUE, Wilson, "the vanishing attack's noise baseline at the same norm, radius and budget"),
    m!("suites.ocr_accuracy.scores.char_accuracy", Estimate, "fraction", VALUE, Bootstrap, "`aite ocr --labels`: character accuracy 1 - edits / label characters (CER = 1 - this), bootstrap over lines; `scores: null` (nothing scored) is NOT_TESTED"),
    m!("suites.ocr_accuracy.scores.word_accuracy", Estimate, "fraction", VALUE, Bootstrap, "OCR word accuracy against labels"),
    m!("suites.ocr_accuracy.scores.line_accuracy", Proportion, "fraction", VALUE, Wilson, "OCR lines read exactly, of the scored lines"),
    m!("suites.ocr_corruptions.mean_char_accuracy", Estimate, "fraction", VALUE, Bootstrap, "`aite ocr --corruptions`: mean character accuracy over the corruption cells, bootstrap over images"),
    m!("suites.ocr_corruptions.relative_char_accuracy", Estimate, "ratio", VALUE, Bootstrap, "mean corrupted / clean character accuracy; withheld against the pipeline's own clean predictions (1 by construction)"),
    m!("suites.ocr_repeatability.identical", Flag, "bool", VALUE, None, "`aite ocr --consistency`: every image read identically (boxes, strings, scores) on every repeat"),
    m!("suites.ocr_batch_invariance.strings_identical", Flag, "bool", VALUE, None, "`aite ocr --consistency`: every line the recogniser read at batch 1 read the same at the task's rec_batch"),
    m!("suites.ocr_batch_invariance.max_abs_score_diff", Number, "abs", VALUE, None, "largest absolute difference of a line's score between the recogniser at batch 1 and at rec_batch"),
    m!("suites.ocr_agreement.frame_agreement", Proportion, "fraction", VALUE, Wilson, "images on which the OCR pipeline and its reference engine read the same lines"),
    m!("suites.ocr_degenerate_frames", DegenerateFrames, "count", &["not_graceful"], None, "degenerate frames (black, white, noise) on which the OCR pipeline read text"),
    m!("suites.security.rules.*", SecurityRule, "status", &["status"], None, "one rule of the static security scan"),
    m!("suites.network.rules.*", SecurityRule, "status", &["status"], None, "one rule of the network probe (`aite probe`)"),
    m!("suites.security.vulnerability_summary.max_cvss_base", CvssBound, "cvss", VALUE, None, "highest CVSS base score of the known vulnerabilities matched against the OSV feed"),
];

/// The catalogue entry for `path`, if any.
pub fn lookup(path: &str) -> Option<&'static MetricSpec> {
    CATALOGUE.iter().find(|m| match m.path.strip_suffix('*') {
        Some(prefix) => path.strip_prefix(prefix).is_some_and(is_rule_id),
        None => m.path == path,
    })
}

/// `AITE-` followed by upper-case letters, digits and dashes.
fn is_rule_id(s: &str) -> bool {
    s.strip_prefix("AITE-").is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'))
}

/// The suite names (second path component) the catalogue knows.
pub fn known_suite(name: &str) -> bool {
    CATALOGUE.iter().any(|m| m.path.split('.').nth(1) == Some(name))
}

/// The quantile a latency statistic names (`p99` → 0.99), if it is one.
pub fn quantile(statistic: &str) -> Option<f64> {
    match statistic {
        "p50" => Some(0.5),
        "p90" => Some(0.9),
        "p95" => Some(0.95),
        "p97" => Some(0.97),
        "p99" => Some(0.99),
        "p999" => Some(0.999),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_paths_need_a_rule_id() {
        assert!(lookup("suites.security.rules.AITE-CRED-DEFAULT").is_some());
        assert!(lookup("suites.security.rules.").is_none());
        assert!(lookup("suites.security.rules.cred").is_none());
        assert!(lookup("suites.latency.latency.p99_ms").is_none());
    }

    #[test]
    fn every_attack_family_a_profile_may_judge_has_its_three_channels() {
        for attack in ["square_linf", "spsa_linf"] {
            for figure in ["robust_accuracy", "robust_accuracy_uint8", "robust_accuracy_jpeg"] {
                let m = lookup(&format!("suites.attack_{attack}.{figure}")).unwrap_or_else(|| panic!("{attack}.{figure} missing"));
                assert_eq!((m.kind, m.interval), (MetricKind::Proportion, IntervalSource::Wilson));
            }
        }
    }
}
