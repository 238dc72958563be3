//! mCE is shown with its interval when the protocol holds and otherwise with every unmet
//! condition in words, with the sweep's placement; a remote latency run's failed queries
//! and longest outage are shown next to its statistics; a detector's detections per frame are
//! shown with its latency, a classifier's latency shows no such line. Terminal and HTML alike.

use aite_evidence::{Results, RunFolder};
use aite_report::{Renderer, TerminalRenderer};
use serde_json::{json, Value};

fn prop(successes: u64, trials: u64) -> Value {
    json!({"successes": successes, "trials": trials, "value": successes as f64 / trials as f64, "ci95_low": 0.1, "ci95_high": 0.9})
}

fn corruptions(corrupt_at: &str, mce: Value, relative_mce: Value, mce_status: Value) -> Value {
    json!({
        "options": {"kinds": ["gaussian_noise"], "severities": [1], "table": null, "seed": 1, "shard": [0, 1], "alexnet": true, "output_index": 0, "corrupt_at": corrupt_at},
        "samples": 10,
        "clean": prop(8, 10),
        "cells": [{"corruption": "gaussian_noise", "severity": 1, "tables": ["imagenet-c"], "placement": "input", "accuracy": prop(6, 10), "wrong": []}],
        "summaries": [{"corruption": "gaussian_noise", "group": "imagenet-c", "severities": 1, "accuracy": prop(6, 10), "degradation": 0.2,
                       "ce": {"value": 0.4321, "ci95_low": 0.3012, "ci95_high": 0.5987}, "relative_ce": null}],
        "mean_corruption_accuracy": prop(6, 10),
        "degradation": 0.2,
        "mce": mce,
        "relative_mce": relative_mce,
        "mce_status": mce_status,
        "clean_wrong": [],
        "missing_cells": 0,
        "interrupted": false
    })
}

fn latency(errors: u64, error_rate: f64, outage: Option<Value>) -> Value {
    let summary = json!({"count": 97, "max_ms": 9.0, "mean_ms": 4.0, "min_ms": 2.0, "p50_ms": 3.0, "p90_ms": 7.0, "p95_ms": 8.0, "p97_ms": 8.5, "p999_ms": 9.0, "p99_ms": 8.9, "stddev_ms": 1.0});
    let mut l = json!({
        "after_idle": null, "deadline_misses": null, "drift": null, "duration_ms": 1000.0,
        "early_stopping": {"estimate_ms": 8.0, "min_queries": 64, "overlatency_count": 9, "percentile": 0.9, "queries": 97},
        "error": null, "error_rate": error_rate, "errors": errors, "interrupted": false, "latency": summary, "mode": "inference", "offline": null, "queries": 97,
        "resources": {"cpu_cores_busy": null, "frequency_after": {"current_khz": null, "governor": null, "max_khz": null}, "frequency_before": {"current_khz": null, "governor": null, "max_khz": null}, "logical_cpus": 2, "peak_rss_bytes": null},
        "samples_loaded": 4, "scenario": {"kind": "single-stream"},
        "settings": {"max_consecutive_failures": 10, "max_duration_ms": 0, "max_error_rate": 0.01, "max_queries": 0, "min_duration_ms": 1000, "min_queries": 10, "offline_expected_qps": 0.0, "percentile": 0.9, "seed": 1, "warmup_queries": 5},
        "stages": {"decode": null, "inference": summary, "postprocess": null, "preprocess": null, "queueing": null},
        "steady": null, "throughput_sps": 97.0, "validity": {"reasons": ["error rate 3.00% above 1.00%"], "valid": false}
    });
    if let Some(o) = outage {
        l["outage"] = o;
    }
    l
}

/// The terminal text and the HTML report of a package holding these suites.
fn render(suites: &[(&str, Value)]) -> (String, String) {
    let (text, files) = render_files(suites, vec![]);
    let html = String::from_utf8(files.iter().find(|f| f.name == "report.html").unwrap().bytes.clone()).unwrap();
    (text, html)
}

/// The terminal text and every rendered file of a package holding these suites.
fn render_files(suites: &[(&str, Value)], inputs: Vec<aite_evidence::InputArtifact>) -> (String, Vec<aite_report::RenderedFile>) {
    let mut results = Results::new("robustness", json!({"name": "m", "engine": "tract", "engine_version": "0", "threads": 1}));
    results.inputs = inputs;
    for (k, v) in suites {
        results.suites.insert(k.to_string(), v.clone());
    }
    results.finish(aite_evidence::RunStatus::Complete);
    let text = TerminalRenderer.render(&results);
    assert!(!text.contains("could not be read"), "the fixture is a valid suite: {text}");
    let profile = aite_assessment::shipped("reference-terminal").unwrap();
    let assessment = aite_assessment::assess_scoped(&profile, &serde_json::to_value(&results).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let folder = RunFolder::create(dir.path(), "robustness").unwrap();
    folder.write_json("results.json", &results).unwrap();
    folder.write_json("assessment.json", &assessment).unwrap();
    let files = aite_report::render_package(folder.path(), &aite_report::RenderOptions { pdf: false, template: None }).unwrap();
    (text, files)
}

#[test]
fn a_reported_mce_is_shown_with_its_interval_and_the_placement() {
    let status = json!({"status": "reported", "interval": {"method": "bootstrap_over_images", "resamples": 2000, "seed": 3}});
    let (text, html) = render(&[("corruptions", corruptions("input", json!({"value": 0.7654, "ci95_low": 0.7012, "ci95_high": 0.8233}), json!({"value": 0.9876, "ci95_low": 0.9, "ci95_high": 1.1}), status))]);
    let mce = "mCE 76.5 (70.1 – 82.3), relative mCE 98.8 (90.0 – 110.0) (95% intervals: bootstrap over images, 2000 resamples)";
    let at = "corruptions applied at: input (every corruption at the model input)";
    assert!(text.contains(mce) && text.contains(at), "{text}");
    assert!(html.contains(mce) && html.contains(at), "{html}");
    // The per-corruption CE, an interval object too.
    assert!(html.contains("43.2 (30.1 – 59.9)"), "{html}");
}

#[test]
fn an_unreported_mce_names_every_unmet_condition() {
    let status = json!({"status": "not_reported", "reasons": [
        {"condition": "not_imagenet_labels"},
        {"condition": "incomplete", "corruptions": ["shot_noise", "impulse_noise"]},
        {"condition": "not_at_input", "corruptions": ["gaussian_noise"]},
        {"condition": "not_imagenet_table", "corruptions": ["gaussian_noise"]}
    ]});
    let (text, html) = render(&[("corruptions", corruptions("frame", Value::Null, Value::Null, status))]);
    let why = "mCE not reported: the model's outputs are not ImageNet's label space (1000 or 1001 classes); not run on all five severities: shot_noise, impulse_noise; \
               corrupted on the frame, not at the model input: gaussian_noise; another parameter table than ImageNet-C's: gaussian_noise";
    let at = "corruptions applied at: frame (every corruption on the native frame, before preprocessing)";
    assert!(text.contains(why) && text.contains(at), "{text}");
    // minijinja escapes the apostrophes.
    let html = html.replace("&#x27;", "'");
    assert!(html.contains(why) && html.contains(at), "{html}");
}

#[test]
fn latency_errors_and_the_longest_outage_are_shown_when_there_were_failures() {
    let outage = json!({"first_query": 40, "queries": 3, "ms": 123.45, "ongoing": false});
    let (text, html) = render(&[("latency", latency(3, 0.03, Some(outage)))]);
    let line = "3 errors (3.00% of issued queries), longest outage 123.5 ms (3 queries from query 40)";
    assert!(text.contains(line), "{text}");
    assert!(html.contains(line), "{html}");

    let (text, html) = render(&[("latency", latency(0, 0.0, None))]);
    assert!(!text.contains("of issued queries"), "{text}");
    assert!(!html.contains("Failed queries"), "no failure line without failures");
}

/// Issue: detections per frame (`results_per_frame`, recorded by aite-latency for a detector's
/// end-to-end queries) reached results.json but no report. The fixture's figures are hand-written,
/// so the rendered line is checked against them; a classifier's latency has none and no line.
#[test]
fn a_detectors_detections_per_frame_are_shown_with_its_latency_and_a_classifiers_are_not() {
    let mut detector = latency(0, 0.0, None);
    detector["mode"] = json!("end-to-end");
    detector["results_per_frame"] = json!({"counted": "detections", "frames": 24, "min": 1, "mean": 2.5, "max": 4});
    let line = "detections per frame: min 1, mean 2.50, max 4 (24 frames)";
    // The model the latency measured, so the CycloneDX model card carries its latency.
    let model = aite_evidence::InputArtifact { role: "model".into(), name: "m".into(), sha256: "00".repeat(32), count: None };
    let (text, files) = render_files(&[("latency", detector)], vec![model]);
    assert!(text.contains(line), "{text}");
    let html = String::from_utf8(files.iter().find(|f| f.name == "report.html").unwrap().bytes.clone()).unwrap();
    assert!(html.contains(line), "{html}");
    let bom = String::from_utf8(files.iter().find(|f| f.name == "bom.cdx.json").unwrap().bytes.clone()).unwrap();
    assert!(bom.contains(&format!("single-stream, end-to-end, {line}")), "the model card's latency slice: {bom}");

    let (text, html) = render(&[("latency", latency(0, 0.0, None))]);
    assert!(!text.contains("per frame") && !text.contains("detections"), "a classifier counts nothing: {text}");
    assert!(!html.contains("per frame:") && !html.contains("post-processing:"), "a classifier counts nothing");
}
