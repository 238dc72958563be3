//! The HTML report: one self-contained file (inline CSS and SVG, no script, no
//! external `src`/`href`), rendered with minijinja from an embedded template a lab
//! can replace. The context is computed here from the package; the template
//! only lays it out, in the order an assessor reads: cover, gap analysis,
//! architecture, latency, robustness, security, environment, manifest.

use crate::charts;
use crate::diagrams;
use crate::package::{Package, RequirementResult, Verdict};
use crate::ReportError;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The embedded default template.
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/report.html");

/// Render the report; `template` is a lab's `(file name, text)` instead of the default.
pub fn html(p: &Package, template: Option<(&str, &str)>) -> Result<String, ReportError> {
    let (file, text) = template.unwrap_or(("embedded report.html", DEFAULT_TEMPLATE));
    let terr = |e: minijinja::Error| ReportError::Template { file: file.to_string(), reason: format!("{e:#}") };
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
    // Registered as `.html` whatever the file is called, so autoescaping is always on.
    env.add_template("report.html", text).map_err(terr)?;
    let ctx = context(p)?;
    let out = env.get_template("report.html").map_err(terr)?.render(minijinja::Value::from(minijinja::value::Serde(&ctx))).map_err(terr)?;
    Ok(out)
}

fn num(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{} {unit}", sig(x)).trim_end().to_string(),
        Some(x) => format!("{x}"),
        None => "—".into(),
    }
}

/// Six significant digits, without trailing zeros.
fn sig(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let digits = (6 - 1 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn pct(v: &Value) -> String {
    match v.get("value").and_then(Value::as_f64) {
        Some(x) => {
            let ci = match (v.get("ci95_low").and_then(Value::as_f64), v.get("ci95_high").and_then(Value::as_f64)) {
                (Some(l), Some(h)) => format!(" ({:.1}% – {:.1}%)", l * 100.0, h * 100.0),
                _ => String::new(),
            };
            let n = match (v.get("successes").and_then(Value::as_u64), v.get("trials").and_then(Value::as_u64)) {
                (Some(s), Some(t)) => format!(" {s}/{t}"),
                _ => String::new(),
            };
            format!("{:.2}%{ci}{n}", x * 100.0)
        }
        None => "—".into(),
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn requirement_row(r: &RequirementResult) -> Value {
    let threshold = match (&r.comparator, r.threshold) {
        (Some(c), Some(t)) => format!("{} {}", symbol(*c), num(Some(t), &r.unit)),
        _ => "—".into(),
    };
    let interval = r.interval.as_ref().map(|i| format!("{} – {}", num(i.low, ""), num(i.high, ""))).unwrap_or_else(|| "—".into());
    json!({
        "id": r.id, "title": r.title, "item": r.item, "clauses": r.clauses,
        "verdict": r.verdict.label(),
        "value": num(r.value, &r.unit),
        "interval": interval,
        "interval_method": r.interval.as_ref().map(|i| i.method.clone()),
        "threshold": threshold,
        "provenance": format!("{}: {}", r.provenance.status, r.provenance.source),
        "decision": r.decision,
        "why": r.verdict.reason().map(str::to_string).unwrap_or_else(|| r.note.clone()),
        "remediation": if r.verdict == Verdict::Pass { String::new() } else { r.remediation.clone() },
    })
}

fn symbol(c: aite_assessment::Comparator) -> &'static str {
    use aite_assessment::Comparator as C;
    match c {
        C::Le => "≤",
        C::Lt => "<",
        C::Ge => "≥",
        C::Gt => ">",
        C::Eq => "=",
    }
}

/// The threshold (ms) of the first requirement that reads `suite`'s latency distribution, with its id.
fn latency_threshold(p: &Package, suite: &str) -> Option<(String, f64)> {
    let prefix = format!("/suites/{suite}/latency");
    p.assessment
        .requirements
        .iter()
        .find(|r| r.unit == "ms" && r.evidence.iter().any(|e| e.starts_with(&prefix)))
        .and_then(|r| r.threshold.map(|t| (r.id.clone(), t)))
}

fn latency_section(p: &Package, suite: &str, title: &str) -> Result<Option<Value>, ReportError> {
    let Some(l) = p.suite(suite) else { return Ok(None) };
    let stat = |k: &str| l.pointer(&format!("/latency/{k}")).and_then(Value::as_f64);
    let validity = match l.pointer("/validity/valid").and_then(Value::as_bool) {
        Some(true) => "VALID".to_string(),
        Some(false) => format!(
            "INVALID ({})",
            l.pointer("/validity/reasons").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")).unwrap_or_default()
        ),
        None => "not recorded".into(),
    };
    let threshold = latency_threshold(p, suite);
    let samples = if suite == "latency" { &p.latency_samples } else { &p.periodic_samples };
    let ms: Vec<f64> = samples.iter().map(|s| s.latency_ns as f64 / 1e6).collect();
    let tname = threshold.as_ref().map(|(id, t)| format!(" — {id} threshold {t} ms in red")).unwrap_or_default();
    let mut charts_svg = Vec::new();
    if !ms.is_empty() {
        charts_svg.push(charts::histogram(&ms, threshold.as_ref().map(|t| t.1), &format!("end-to-end latency, {} queries{tname}", ms.len()))?);
        charts_svg.push(charts::cdf(&ms, threshold.as_ref().map(|t| t.1), "cumulative distribution")?);
    }
    if let Some(stages) = l.get("stages").and_then(Value::as_object) {
        let bars: Vec<(String, f64)> = ["queueing", "decode", "preprocess", "inference", "postprocess"]
            .iter()
            .filter_map(|k| stages.get(*k).and_then(|v| v.get("mean_ms")).and_then(Value::as_f64).map(|m| (k.to_string(), m)))
            .collect();
        charts_svg.push(charts::stage_bar(&bars, "mean time per stage (ms)"));
    }
    if !samples.is_empty() {
        let t0 = samples.iter().map(|s| s.scheduled_ns).min().unwrap_or(0);
        if suite == "latency" {
            // Drift: the median of each of 50 consecutive windows of queries.
            let w = samples.len().div_ceil(50).max(1);
            let pts: Vec<(f64, f64, bool)> = samples
                .chunks(w)
                .map(|c| {
                    let mut v: Vec<u64> = c.iter().map(|s| s.latency_ns).collect();
                    v.sort_unstable();
                    ((c[c.len() / 2].completed_ns - t0) as f64 / 1e6, v[v.len() / 2] as f64 / 1e6, false)
                })
                .collect();
            charts_svg.push(charts::timeline(&pts, None, &format!("drift: median latency of consecutive windows of {w} queries"), "time since first query (ms)")?);
        } else {
            let pts: Vec<(f64, f64, bool)> = samples.iter().map(|s| ((s.scheduled_ns - t0) as f64 / 1e6, s.latency_ns as f64 / 1e6, s.after_idle)).collect();
            let period = l.pointer("/scenario/fps").and_then(Value::as_f64).filter(|f| *f > 0.0).map(|f| 1000.0 / f);
            charts_svg.push(charts::timeline(&pts, period, "per frame: first frame after idle as orange triangles, frame period in red", "time since first frame (ms)")?);
        }
    }
    let charts_svg: Vec<String> = charts_svg.into_iter().filter(|s| !s.is_empty()).collect();
    let drift = l.get("drift").filter(|d| !d.is_null()).map(|d| {
        format!(
            "first-window p50 {} ms, last-window p50 {} ms (ratio {}), slope {} ms/min",
            num(d.get("first_window_p50_ms").and_then(Value::as_f64), ""),
            num(d.get("last_window_p50_ms").and_then(Value::as_f64), ""),
            num(d.get("last_to_first_ratio").and_then(Value::as_f64), ""),
            num(d.get("slope_ms_per_minute").and_then(Value::as_f64), "")
        )
    });
    let after_idle = l.get("after_idle").filter(|d| !d.is_null()).map(|a| format!(" First frames after idle: {} frames, p50 {}, max {}.", a.get("count").and_then(Value::as_u64).unwrap_or(0), num(a.get("p50_ms").and_then(Value::as_f64), "ms"), num(a.get("max_ms").and_then(Value::as_f64), "ms")));
    let errors = match l.get("errors").and_then(Value::as_u64) {
        Some(n) if n > 0 => {
            let outage = l.get("outage").and_then(|o| serde_json::from_value::<aite_latency::OutageWindow>(o.clone()).ok());
            Some(crate::terminal::latency_errors_words(n, l.get("error_rate").and_then(Value::as_f64).unwrap_or(f64::NAN), outage.as_ref()))
        }
        _ => None,
    };
    // A detector's or OCR read's results per frame; a classifier counts none and gets no line.
    let results_per_frame = l.get("results_per_frame").filter(|r| !r.is_null()).map(|r| match serde_json::from_value::<aite_latency::ResultsPerFrame>(r.clone()) {
        Ok(r) => r.to_string(),
        Err(e) => format!("results_per_frame could not be read: {e}"),
    });
    Ok(Some(json!({
        "title": title,
        "validity": validity,
        "results_per_frame": results_per_frame,
        "errors": errors,
        "queries": l.get("queries").and_then(Value::as_u64).unwrap_or(0),
        "duration": num(l.get("duration_ms").and_then(Value::as_f64), "ms"),
        "mode": format!("{}, scenario {}{}", s(l, "/mode"), s(l, "/scenario/kind"), after_idle.unwrap_or_default()),
        "stats": [num(stat("mean_ms"), "ms"), num(stat("p50_ms"), "ms"), num(stat("p90_ms"), "ms"), num(stat("p95_ms"), "ms"), num(stat("p99_ms"), "ms"), num(stat("p999_ms"), "ms"), num(stat("max_ms"), "ms"), num(l.get("throughput_sps").and_then(Value::as_f64), "samples/s")],
        "charts": charts_svg,
        "drift": drift,
    })))
}

/// A CE interval (x100, as in the terminal), `—` when the protocol did not hold.
fn ce_text(v: Option<&Value>) -> String {
    match v.filter(|v| !v.is_null()).map(|v| serde_json::from_value::<aite_robustness::corruption::Interval>(v.clone())) {
        Some(Ok(i)) => format!("{:.1} ({:.1} – {:.1})", i.value * 100.0, i.ci95_low * 100.0, i.ci95_high * 100.0),
        Some(Err(e)) => format!("unreadable: {e}"),
        None => "—".into(),
    }
}

/// The corruption sweep's placement (`options.corrupt_at`); packages without it corrupted the frame.
fn corrupt_at_text(c: &Value) -> String {
    use aite_robustness::corruption::CorruptAt;
    match c.pointer("/options/corrupt_at").map(|v| serde_json::from_value::<CorruptAt>(v.clone())) {
        Some(Ok(at)) => crate::terminal::corrupt_at_words(at).into(),
        Some(Err(e)) => format!("unreadable ({e})"),
        None => crate::terminal::corrupt_at_words(CorruptAt::Frame).to_string() + ", not recorded by the version that wrote it",
    }
}

/// mCE with its interval, or why it is not reported.
fn mce_text(c: &Value) -> String {
    use aite_robustness::corruption::{Interval, MceStatus};
    let interval = |k: &str| c.get(k).filter(|v| !v.is_null()).and_then(|v| serde_json::from_value::<Interval>(v.clone()).ok());
    let status = match c.get("mce_status") {
        Some(v) => match serde_json::from_value::<MceStatus>(v.clone()) {
            Ok(s) => s,
            Err(e) => return format!("mCE status unreadable ({e}); see results.json"),
        },
        None => MceStatus::default(),
    };
    crate::terminal::mce_words(interval("mce"), interval("relative_mce"), &status)
}

fn robustness(p: &Package, ctx: &mut serde_json::Map<String, Value>) -> Result<(), ReportError> {
    ctx.insert("heatmap".into(), Value::Null);
    ctx.insert("degradation".into(), Value::Null);
    ctx.insert("corruption_summary".into(), json!(""));
    ctx.insert("per_corruption".into(), json!([]));
    if let Some(c) = p.suite("corruptions") {
        let mut cells = BTreeMap::new();
        let mut rows: Vec<String> = Vec::new();
        let mut curves: BTreeMap<String, BTreeMap<u64, (u64, u64)>> = BTreeMap::new();
        let groups: BTreeMap<String, String> = c.get("summaries").and_then(Value::as_array).map(|ss| ss.iter().map(|s| (s.get("corruption").and_then(Value::as_str).unwrap_or("").to_string(), s.get("group").and_then(Value::as_str).unwrap_or("").to_string())).collect()).unwrap_or_default();
        for cell in c.get("cells").and_then(Value::as_array).into_iter().flatten() {
            let name = cell.get("corruption").and_then(Value::as_str).unwrap_or("").to_string();
            let sev = cell.get("severity").and_then(Value::as_u64).unwrap_or(0);
            if let Some(a) = cell.pointer("/accuracy/value").and_then(Value::as_f64) {
                cells.insert((name.clone(), sev), a);
            }
            let g = curves.entry(groups.get(&name).cloned().unwrap_or_else(|| "other".into())).or_default().entry(sev).or_insert((0, 0));
            g.0 += cell.pointer("/accuracy/successes").and_then(Value::as_u64).unwrap_or(0);
            g.1 += cell.pointer("/accuracy/trials").and_then(Value::as_u64).unwrap_or(0);
            if !rows.contains(&name) {
                rows.push(name);
            }
        }
        let clean = c.pointer("/clean/value").and_then(Value::as_f64);
        ctx.insert("heatmap".into(), json!(charts::heatmap(&cells, &rows, clean)));
        let mut series: Vec<(String, Vec<(f64, f64)>)> = curves
            .into_iter()
            .map(|(g, m)| (format!("{g} (pooled)"), m.into_iter().filter(|(_, (_, t))| *t > 0).map(|(sev, (k, t))| (sev as f64, k as f64 / t as f64)).collect()))
            .collect();
        if let Some(cl) = clean {
            let sevs: Vec<f64> = series.iter().flat_map(|s| s.1.iter().map(|p| p.0)).collect();
            let (lo, hi) = (sevs.iter().copied().fold(f64::INFINITY, f64::min), sevs.iter().copied().fold(0.0, f64::max));
            if lo.is_finite() {
                series.push(("clean".into(), vec![(lo, cl), (hi, cl)]));
            }
        }
        let per_corruption: Vec<(String, String, String, String, String)> = c
            .get("summaries")
            .and_then(Value::as_array)
            .map(|ss| {
                ss.iter()
                    .map(|x| (s(x, "/corruption").to_string(), s(x, "/group").to_string(), x.get("accuracy").map(pct).unwrap_or_default(), num(x.get("degradation").and_then(Value::as_f64), ""), ce_text(x.get("ce"))))
                    .collect()
            })
            .unwrap_or_default();
        ctx.insert("per_corruption".into(), json!(per_corruption));
        ctx.insert("degradation".into(), json!(charts::lines(&series, "degradation: accuracy by severity, corruptions pooled per group", "severity", "accuracy")?));
        ctx.insert(
            "corruption_summary".into(),
            json!(format!(
                "{} samples per cell; corruptions applied at: {}; clean accuracy {}; mean corruption accuracy {}; {}; {} missing cells.",
                c.get("samples").and_then(Value::as_u64).unwrap_or(0),
                corrupt_at_text(c),
                c.get("clean").map(pct).unwrap_or_default(),
                c.get("mean_corruption_accuracy").map(pct).unwrap_or_default(),
                mce_text(c),
                c.get("missing_cells").and_then(Value::as_u64).unwrap_or(0)
            )),
        );
    }
    let mut attacks = Vec::new();
    let mut curves = Vec::new();
    if let Some(suites) = p.results.get("suites").and_then(Value::as_object) {
        for (name, a) in suites.iter().filter(|(n, _)| n.starts_with("attack_") && *n != "attack_worst_case") {
            attacks.push(json!({
                "name": s(a, "/settings/kind").to_string() + &format!(" (ε {})", num(a.pointer("/settings/epsilon").and_then(Value::as_f64), "")),
                "samples": a.get("samples").and_then(Value::as_u64).unwrap_or(0),
                "clean": a.get("clean_accuracy").map(pct).unwrap_or_default(),
                "robust": a.get("robust_accuracy").map(pct).unwrap_or_default(),
                "success": a.get("attack_success_rate").map(pct).unwrap_or_default(),
                "queries": format!("{} total, budget {}", a.get("queries_total").and_then(Value::as_u64).unwrap_or(0), a.pointer("/settings/budget").and_then(Value::as_u64).unwrap_or(0)),
            }));
            // Fraction of clean-correct samples fooled within q queries.
            let records: Vec<&Value> = a.get("records").and_then(Value::as_array).map(|r| r.iter().filter(|r| r.get("clean_correct").and_then(Value::as_bool) == Some(true)).collect()).unwrap_or_default();
            let budget = a.pointer("/settings/budget").and_then(Value::as_u64).unwrap_or(0);
            if !records.is_empty() && budget > 0 {
                let mut fooled: Vec<u64> = records.iter().filter(|r| r.get("success").and_then(Value::as_bool) == Some(true)).filter_map(|r| r.get("queries").and_then(Value::as_u64)).collect();
                fooled.sort_unstable();
                let n = records.len() as f64;
                let pts: Vec<(f64, f64)> = (0..=20).map(|i| budget * i / 20).map(|q| (q as f64, fooled.iter().filter(|&&f| f <= q).count() as f64 / n)).collect();
                curves.push((name.trim_start_matches("attack_").to_string(), pts));
            }
        }
    }
    // One row per threat model (norm and epsilon): the figure, or why there is none.
    for w in p.suite("attack_worst_case").map(|w| aite_assessment::worst_case::recorded(w, |name| p.suite(name))).unwrap_or_default() {
        let robust = w.record.get("robust_accuracy").map(pct).or_else(|| w.why().map(|why| format!("not applicable: {why}"))).unwrap_or_default();
        let name = format!("worst case at {} over {} (per sample)", w.threat_model(), w.attacks().join(", "));
        attacks.push(json!({ "name": name, "samples": w.record.pointer("/robust_accuracy/trials").and_then(Value::as_u64).map_or(String::new(), |n| n.to_string()), "clean": "", "robust": robust, "success": "", "queries": "" }));
    }
    ctx.insert("attack_svg".into(), if curves.is_empty() { Value::Null } else { json!(charts::lines(&curves, "attack success by queries (fraction of clean-correct samples fooled)", "queries", "success rate")?) });
    ctx.insert("attacks".into(), json!(attacks));
    let mut consistency: Vec<(String, String)> = Vec::new();
    if let Some(r) = p.suite("repeatability") {
        consistency.push(("repeatability".into(), format!("{} samples × {} repeats: identical {}, max |diff| {}, top-1 flips {}, non-finite answers {}", r["samples"], r["repeats"], r["identical"], num(r.get("max_abs_diff").and_then(Value::as_f64), ""), r["top1_flips"], r["non_finite_answers"])));
    }
    if let Some(r) = p.suite("batch_invariance") {
        consistency.push(("batch invariance".into(), format!("batch {} on {} samples: within tolerance {} ({}), max |diff| {}, top-1 flips {}", r["batch"], r["samples"], r["within_tolerance"], num(r.get("tolerance").and_then(Value::as_f64), ""), num(r.get("max_abs_diff").and_then(Value::as_f64), ""), r["top1_flips"])));
    }
    if let Some(r) = p.suite("agreement") {
        consistency.push(("deployed vs reference".into(), format!("{} vs {}: top-1 agreement {}, SQNR {} dB, max |diff| {}", s(r, "/deployed"), s(r, "/reference"), r.get("top1_agreement").map(pct).unwrap_or_default(), num(r.get("sqnr_db").and_then(Value::as_f64), ""), num(r.get("max_abs_diff").and_then(Value::as_f64), ""))));
    }
    if let Some(r) = p.suite("detection_repeatability") {
        consistency.push(("detection repeatability".into(), format!("{} samples × {} repeats, {} detections: identical {}, max |score diff| {}, max box diff {}, count changes {}, non-finite answers {}", r["samples"], r["repeats"], r["detections"], r["identical"], num(r.get("max_score_diff").and_then(Value::as_f64), ""), num(r.get("max_box_diff").and_then(Value::as_f64), ""), r["count_mismatches"], r["non_finite_answers"])));
    }
    if let Some(r) = p.suite("detection_batch_invariance") {
        consistency.push(("detection batch invariance".into(), format!("batch {} on {} samples: within tolerance {}, max |score diff| {}, max box diff {}, count changes {}", r["batch"], r["samples"], r["within_tolerance"], num(r.get("max_score_diff").and_then(Value::as_f64), ""), num(r.get("max_box_diff").and_then(Value::as_f64), ""), r["count_mismatches"])));
    }
    if let Some(r) = p.suite("detection_agreement") {
        consistency.push(("deployed vs reference (detections)".into(), format!("{} vs {}: frames in agreement {}, {} of {} reference / {} deployed detections matched at IoU {}, mean IoU {}, min IoU {}, max |score diff| {}", s(r, "/deployed"), s(r, "/reference"), r.get("frame_agreement").map(pct).unwrap_or_default(), r["matched"], r["reference_detections"], r["deployed_detections"], r["iou_threshold"], num(r.get("mean_iou").and_then(Value::as_f64), ""), num(r.get("min_iou").and_then(Value::as_f64), ""), num(r.get("max_score_diff").and_then(Value::as_f64), ""))));
    }
    for m in p.suite("metamorphic").and_then(Value::as_array).into_iter().flatten() {
        let rel = m.get("relation").map(|r| r.as_object().map(|o| o.iter().map(|(k, v)| format!("{k} {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect::<Vec<_>>().join(", ")).unwrap_or_default()).unwrap_or_default();
        consistency.push((format!("metamorphic: {rel}"), format!("top-1 flips {}", m.get("flips").map(pct).unwrap_or_default())));
    }
    ctx.insert("consistency".into(), json!(consistency));
    // A detector's COCO AP against labels and its corruption sweep (mPC / rPC, Michaelis et al. 2019).
    let mut detector: Vec<(String, String)> = Vec::new();
    for (key, which) in [("detection_accuracy", "COCO AP"), ("detection_accuracy_reference", "COCO AP (reference model)")] {
        if let Some(r) = p.suite(key).filter(|r| r.get("ap").is_some()) {
            detector.push((which.into(), format!("AP@[.5:.95] {}, AP50 {} on {} images ({} labeled boxes in {}), {} detections", num(r.get("ap").and_then(Value::as_f64), ""), num(r.get("ap50").and_then(Value::as_f64), ""), r["images"], r["ground_truth_boxes"], s(r, "/labels"), r["detections"])));
        }
    }
    if let Some(r) = p.suite("detection_corruptions").filter(|r| r.get("mpc").is_some()) {
        let ci = |v: &Value| format!("{} ({} – {})", num(v.get("value").and_then(Value::as_f64), ""), num(v.get("ci95_low").and_then(Value::as_f64), ""), num(v.get("ci95_high").and_then(Value::as_f64), ""));
        let rpc = r.get("rpc").filter(|v| !v.is_null()).map(ci).unwrap_or_else(|| format!("not reported ({})", s(r, "/rpc_status/status")));
        detector.push((format!("corruptions ({})", s(r, "/ap_name")), format!("clean {} (AP50 {}) on {} frames, {} cells; mPC {}, mPC50 {}, rPC {}", num(r.get("clean_ap").and_then(Value::as_f64), ""), num(r.get("clean_ap50").and_then(Value::as_f64), ""), r["samples"], r["cells"].as_array().map_or(0, Vec::len), ci(&r["mpc"]), ci(&r["mpc50"]), rpc)));
    }
    ctx.insert("detector".into(), json!(detector));
    let degenerate: Vec<(String, String, String)> = p
        .suite("degenerate_frames")
        .and_then(Value::as_array)
        .map(|d| d.iter().map(|f| (s(f, "/kind").to_string(), s(f, "/verdict").to_string(), f.get("outcome").map(|o| o.to_string()).unwrap_or_default())).collect())
        .unwrap_or_default();
    ctx.insert("degenerate".into(), json!(degenerate));
    Ok(())
}

fn security(p: &Package) -> Value {
    let Some(sec) = p.suite("security") else { return Value::Null };
    let cov = sec.get("coverage").cloned().unwrap_or(Value::Null);
    let coverage = format!(
        "Image {}: {} bytes, {} extracted, {} not understood, {} padding; {} files, {} containers, {} skipped entries; limits hit: {}; gaps: {}.",
        s(&cov, "/input").rsplit('/').next().unwrap_or(""),
        cov["input_bytes"],
        cov["extracted_input_bytes"],
        cov["not_understood_bytes"],
        cov["padding_bytes"],
        cov["files"],
        cov.get("containers").and_then(Value::as_array).map(Vec::len).unwrap_or(0),
        cov.get("skipped").and_then(Value::as_array).map(Vec::len).unwrap_or(0),
        cov.get("limits_hit").and_then(Value::as_array).filter(|l| !l.is_empty()).map(|l| l.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")).unwrap_or_else(|| "none".into()),
        sec.get("gaps").and_then(Value::as_array).filter(|g| !g.is_empty()).map(|g| g.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect::<Vec<_>>().join("; ")).unwrap_or_else(|| "none".into()),
    );
    let failing: Vec<&Value> = sec.get("findings").and_then(Value::as_array).map(|f| f.iter().filter(|f| s(f, "/status") == "fail").collect()).unwrap_or_default();
    let order = ["critical", "high", "medium", "low", "info"];
    let severities: Vec<(String, usize)> = order.iter().map(|o| (o.to_string(), failing.iter().filter(|f| s(f, "/severity") == *o).count())).collect();
    let mut sorted = failing.clone();
    sorted.sort_by_key(|f| order.iter().position(|o| *o == s(f, "/severity")).unwrap_or(order.len()));
    let findings: Vec<Value> = sorted
        .iter()
        .map(|f| {
            let clauses: Vec<&str> = f.get("clauses").and_then(Value::as_array).map(|c| c.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let line = f.get("line").and_then(Value::as_u64).map(|l| format!(":{l}")).unwrap_or_default();
            json!({ "severity": s(f, "/severity"), "rule": s(f, "/rule"), "path": format!("{}{line}", s(f, "/path")), "message": s(f, "/message"), "clauses": clauses.join(", ") })
        })
        .collect();
    let mut clauses: BTreeMap<String, usize> = BTreeMap::new();
    for f in &failing {
        for c in f.get("clauses").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            *clauses.entry(c.to_string()).or_insert(0) += 1;
        }
    }
    let mut rules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in sec.get("rules").and_then(Value::as_array).into_iter().flatten() {
        rules.entry(s(r, "/status").to_string()).or_default().push(s(r, "/rule").to_string());
    }
    let elf = sec.get("elf").and_then(Value::as_array).map(|e| {
        if e.is_empty() {
            "No ELF binary in the examined files.".to_string()
        } else {
            let names: BTreeSet<String> = e.iter().flat_map(|b| b.as_object().into_iter().flatten().filter(|(_, v)| v.as_bool() == Some(false)).map(|(k, _)| k.clone())).collect();
            format!("{} ELF binaries examined; protections missing somewhere: {}.", e.len(), if names.is_empty() { "none".into() } else { names.into_iter().collect::<Vec<_>>().join(", ") })
        }
    }).unwrap_or_else(|| "not recorded".into());
    let keys: Vec<(String, String, String, String, String)> = sec
        .get("keys")
        .and_then(Value::as_array)
        .map(|k| {
            k.iter()
                .map(|k| {
                    let cert = k.get("certificate").filter(|c| !c.is_null()).map(|c| format!("subject {}, self-signed {}, CA {}", s(c, "/subject"), c["self_signed"], c["is_ca"])).unwrap_or_default();
                    (s(k, "/path").to_string(), s(k, "/kind").to_string(), format!("{} {}", s(k, "/algorithm"), k["bits"]), k["security_bits"].to_string(), format!("{}{}", if k["encrypted"] == true { "encrypted; " } else { "" }, cert))
                })
                .collect()
        })
        .unwrap_or_default();
    let components = sec.get("components").and_then(Value::as_array).map(Vec::len).unwrap_or(0);
    let vulns: Vec<(String, String, String, String)> = sec
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .map(|v| v.iter().map(|v| (s(v, "/id").to_string(), s(v, "/component").to_string(), s(v, "/summary").to_string(), s(v, "/fixed").to_string())).collect())
        .unwrap_or_default();
    let osv = match sec.get("osv_records") {
        Some(Value::Number(n)) => format!("matched against {n} OSV records"),
        _ => "not matched against a vulnerability feed (no --osv feed given): vulnerabilities not checked".into(),
    };
    json!({
        "coverage": coverage,
        "severities": severities,
        "findings": findings,
        "clauses": clauses.into_iter().collect::<Vec<_>>(),
        "rules": rules.into_iter().map(|(k, v)| (k, v.join(", "))).collect::<Vec<_>>(),
        "elf": elf,
        "keys": keys,
        "sbom": format!("{components} components inventoried (bom.cdx.json); {osv}; {} vulnerabilities.", vulns.len()),
        "vulns": vulns,
    })
}

fn context(p: &Package) -> Result<Value, ReportError> {
    let a = &p.assessment;
    let r = &p.results;
    let mut ctx = serde_json::Map::new();
    ctx.insert("report_id".into(), json!(p.report_id()));
    ctx.insert("report_uuid".into(), json!(p.report_uuid().to_string()));
    ctx.insert("title".into(), json!(format!("AI terminal evaluation report: {}", if p.text("/target/name").is_empty() { "terminal" } else { p.text("/target/name") })));
    ctx.insert("overall".into(), json!(a.overall));
    ctx.insert("out_of_scope".into(), json!(a.out_of_scope));
    ctx.insert("overall_stated".into(), json!(a.overall_stated()));
    ctx.insert("provisional".into(), json!(a.provisional_thresholds));
    ctx.insert("target".into(), json!({ "name": p.text("/target/name"), "engine": p.text("/target/engine"), "engine_version": p.text("/target/engine_version"), "threads": r.pointer("/target/threads").cloned().unwrap_or(json!("?")) }));
    ctx.insert("inputs".into(), r.get("inputs").cloned().unwrap_or(json!([])));
    ctx.insert(
        "firmware".into(),
        json!(p.suite("security").and_then(|s| s.pointer("/coverage/input")).and_then(Value::as_str).map(|i| format!("{} ({} bytes)", i.rsplit('/').next().unwrap_or(i), p.results.pointer("/suites/security/coverage/input_bytes").cloned().unwrap_or(Value::Null))).unwrap_or_else(|| "no firmware image examined in this run".into())),
    );
    ctx.insert("profile".into(), json!({ "id": a.profile, "version": a.profile_version, "source": a.profile_source, "overrides": a.overrides }));
    let decisions: BTreeSet<String> = a.requirements.iter().map(|r| r.decision.to_string()).collect();
    ctx.insert("decisions".into(), json!(decisions));
    // config.json `lab` (e.g. {"name", "address", "location", "operator", "signer"}), as the run configuration recorded it.
    let parties = p
        .config
        .as_ref()
        .and_then(|c| c.get("lab"))
        .filter(|l| !l.is_null())
        .map(|l| match l.as_object() {
            Some(o) => o.iter().map(|(k, v)| format!("{k}: {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect::<Vec<_>>().join("; "),
            None => l.as_str().map(str::to_string).unwrap_or_else(|| l.to_string()),
        })
        .unwrap_or_else(|| "not recorded in the package (config.json has no `lab`); a signature, if any, is in evidence.intoto.dsse.json".into());
    ctx.insert("parties".into(), json!(parties));
    ctx.insert("started_at".into(), json!(p.text("/started_at")));
    ctx.insert("finished_at".into(), json!(p.finished_at()));
    ctx.insert("tool".into(), json!({ "version": p.text("/tool/version"), "commit": p.text("/tool/commit") }));
    ctx.insert("command".into(), json!(format!("aite {}", p.text("/command"))));
    ctx.insert("status".into(), json!(p.text("/status")));
    ctx.insert("results_sha256".into(), json!(p.files.get("results.json").cloned().unwrap_or_default()));
    ctx.insert("gaps".into(), json!(a.gap_analysis.iter().map(|g| json!({ "item": g.item.map_or_else(|| "—".to_string(), |i| i.to_string()), "pass": g.pass, "fail": g.fail, "inconclusive": g.inconclusive, "not_applicable": g.not_applicable, "not_tested": g.not_tested, "error": g.error })).collect::<Vec<_>>()));
    ctx.insert("requirements".into(), json!(a.requirements.iter().map(requirement_row).collect::<Vec<_>>()));
    let mut clauses: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for req in &a.requirements {
        for c in &req.clauses {
            clauses.entry(c).or_default().push(json!({ "id": req.id, "verdict": req.verdict.label() }));
        }
    }
    ctx.insert("clauses".into(), json!(clauses.into_iter().map(|(c, rs)| json!({ "clause": c, "requirements": rs })).collect::<Vec<_>>()));
    // Architecture.
    let host = p.environment.as_ref().map(|e| format!("host {} — {} {} ({}), {} logical CPUs, kernel {}", s(e, "/hostname"), s(e, "/os"), s(e, "/arch"), s(e, "/cpu_model"), e["logical_cpus"], s(e, "/kernel"))).unwrap_or_else(|| "host not recorded".into());
    let setup = p.suite("latency").filter(|l| s(l, "/mode") == "end-to-end").and_then(|l| l.get("stages")).and_then(Value::as_object).map(|st| {
        let stages: Vec<(String, f64, f64)> = st
            .iter()
            .filter_map(|(k, v)| Some((if k == "inference" { "inference".into() } else { k.clone() }, v.get("mean_ms")?.as_f64()?, v.get("p99_ms")?.as_f64()?)))
            .collect();
        diagrams::setup(&host, &format!("{} {}, {} thread(s)", p.text("/target/engine"), p.text("/target/engine_version"), r.pointer("/target/threads").cloned().unwrap_or(json!("?"))), p.text("/target/name"), &stages)
    });
    ctx.insert("setup_svg".into(), json!(setup));
    ctx.insert("model_svgs".into(), json!(p.models.values().map(diagrams::model_graph).collect::<Vec<_>>()));
    // Latency.
    let mut latency = Vec::new();
    latency.extend(latency_section(p, "latency", "Single-stream")?);
    latency.extend(latency_section(p, "latency_periodic", "Periodic camera scenario")?);
    ctx.insert("latency".into(), json!(latency));
    ctx.insert(
        "cold_start".into(),
        json!(p.suite("cold_start").map(|c| format!("load {}, first inference {}, second inference {} ({})", num(c.get("load_ms").and_then(Value::as_f64), "ms"), num(c.get("first_inference_ms").and_then(Value::as_f64), "ms"), num(c.get("second_inference_ms").and_then(Value::as_f64), "ms"), if c["fresh_process"] == true { "fresh process" } else { "in the running process, not a fresh one" }))),
    );
    ctx.insert(
        "caching".into(),
        json!(p.suite("caching_audit").map(|c| format!("repeated vs distinct inputs ({} queries each): median {} vs {}, speed-up {:.2}% (95% interval {} – {}), threshold {}; verdict {}", c["queries_each"], num(c.get("repeated_median_ms").and_then(Value::as_f64), "ms"), num(c.get("distinct_median_ms").and_then(Value::as_f64), "ms"), c.get("speedup_fraction").and_then(Value::as_f64).unwrap_or(f64::NAN) * 100.0, num(c.pointer("/speedup_interval/low").and_then(Value::as_f64), ""), num(c.pointer("/speedup_interval/high").and_then(Value::as_f64), ""), num(c.get("threshold").and_then(Value::as_f64), ""), s(c, "/verdict/status")))),
    );
    robustness(p, &mut ctx)?;
    ctx.insert("security".into(), security(p));
    let env: Vec<(String, String)> = p.environment.as_ref().and_then(Value::as_object).map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect()).unwrap_or_default();
    ctx.insert("environment".into(), json!(env));
    let (files, note) = manifest_rows(p);
    ctx.insert("files".into(), json!(files));
    ctx.insert("manifest_note".into(), json!(note));
    Ok(Value::Object(ctx))
}

/// Every evidence file with the hash read for this report and whether manifest.json agrees.
fn manifest_rows(p: &Package) -> (Vec<(String, String, String)>, String) {
    let Some(m) = &p.manifest else {
        return (p.files.iter().map(|(k, v)| (k.clone(), v.clone(), "no manifest.json".into())).collect(), "The package has no manifest.json: the hashes below were computed for this report only.".into());
    };
    let mut mismatches = 0;
    let mut rows: Vec<(String, String, String)> = p
        .files
        .iter()
        .map(|(k, v)| {
            let state = match m.get(k) {
                Some(h) if h == v => "matches".to_string(),
                Some(_) => {
                    mismatches += 1;
                    "DIFFERS: the file changed after the manifest was written".to_string()
                }
                None => "not in manifest.json (added after it was written)".to_string(),
            };
            (k.clone(), v.clone(), state)
        })
        .collect();
    for (k, _) in m.iter().filter(|(k, _)| !p.files.contains_key(*k) && !crate::package::RENDERED.contains(&k.as_str())) {
        mismatches += 1;
        rows.push((k.clone(), "missing from the package".into(), "listed in manifest.json".into()));
    }
    let note = if mismatches == 0 { "Every evidence file matches manifest.json. Rendered reports (this file, junit.xml, OSCAL, CycloneDX) are hashed in manifest.json after rendering.".to_string() } else { format!("{mismatches} evidence file(s) do not match manifest.json: this package was changed after it was written.") };
    (rows, note)
}
