//! Terminal tables.

use crate::Renderer;
use aite_accuracy::AccuracyReport;
use aite_engine::ModelReport;
use aite_evidence::{Results, RunStatus};
use aite_latency::{CachingAudit, CachingVerdict, ColdStart, LatencyReport, LatencySummary};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use std::fmt::Write;

/// Human-readable tables of every suite in a results document.
pub struct TerminalRenderer;

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.iter().map(|h| Cell::new(h)).collect::<Vec<_>>());
    t
}

fn right(t: &mut Table, from: usize) {
    for i in from..t.column_count() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// The suite `key` read as `T`; when it is present but unreadable, a line saying so
/// (a section is never dropped silently).
fn section<T: serde::de::DeserializeOwned>(results: &Results, key: &str, out: &mut String) -> Option<T> {
    read_section(key, results.suites.get(key)?, out)
}

fn read_section<T: serde::de::DeserializeOwned>(key: &str, value: &serde_json::Value, out: &mut String) -> Option<T> {
    // `aite run` records a suite that does not apply to the terminal (a detector's attack on a
    // classifier) with its reason; a check not run (an agreement whose reference is the deployed
    // model) says why too.
    let said = match value.get("status").and_then(|s| s.as_str()) {
        Some("not-applicable") => Some("not applicable"),
        Some("not-run") => Some("not run"),
        _ => None,
    };
    if let Some(said) = said {
        let _ = writeln!(out, "{key}: {said}: {}", value.get("why").and_then(|w| w.as_str()).unwrap_or("no reason recorded"));
        return None;
    }
    match serde_json::from_value(value.clone()) {
        Ok(t) => Some(t),
        Err(e) => {
            let _ = writeln!(out, "section {key} could not be read: {e}; see results.json");
            None
        }
    }
}

fn pct(v: f64) -> String {
    format!("{:.2}%", v * 100.0)
}

fn summary_row(label: &str, s: &LatencySummary) -> Vec<String> {
    vec![
        label.to_string(),
        s.count.to_string(),
        format!("{:.3}", s.mean_ms),
        format!("{:.3}", s.p50_ms),
        format!("{:.3}", s.p90_ms),
        format!("{:.3}", s.p99_ms),
        format!("{:.3}", s.p999_ms),
        format!("{:.3}", s.max_ms),
    ]
}

impl Renderer for TerminalRenderer {
    fn render(&self, results: &Results) -> String {
        let mut out = String::new();
        let target = &results.target;
        if let Some(input) = target.get("input").and_then(|i| i.as_str()) {
            let _ = writeln!(out, "aite {} — {input}", results.command);
        } else if let Some(device) = target.get("target").and_then(|i| i.as_str()) {
            let _ = writeln!(out, "aite {} — device {device}", results.command);
        } else {
            let _ = writeln!(
                out,
                "aite {} — {} on {} {} ({} thread(s))",
                results.command,
                target["name"].as_str().unwrap_or("?"),
                target["engine"].as_str().unwrap_or("?"),
                target["engine_version"].as_str().unwrap_or(""),
                target["threads"].as_u64().unwrap_or(1)
            );
        }
        for (key, v) in results.suites.iter().filter(|(k, _)| k.starts_with("accuracy")) {
            if let Some(a) = read_section::<AccuracyReport>(key, v, &mut out) {
                let mut t = table(&[key.as_str(), "value", "95% CI", "correct / evaluated"]);
                t.add_row(vec![
                    "top-1".into(),
                    pct(a.top1.value),
                    format!("{} – {}", pct(a.top1.ci95_low), pct(a.top1.ci95_high)),
                    format!("{} / {}", a.top1.successes, a.top1.trials),
                ]);
                t.add_row(vec![
                    format!("top-{}", a.k),
                    pct(a.top_k.value),
                    format!("{} – {}", pct(a.top_k.ci95_low), pct(a.top_k.ci95_high)),
                    format!("{} / {}", a.top_k.successes, a.top_k.trials),
                ]);
                right(&mut t, 1);
                let _ = writeln!(out, "{t}");
                if !a.skipped.is_empty() {
                    let _ = writeln!(out, "{} sample(s) skipped (undecodable), first: {}", a.skipped.len(), a.skipped[0].reason);
                }
            }
        }
        for (key, v) in results.suites.iter().filter(|(k, _)| k.starts_with("latency")) {
            if let Some(l) = read_section::<LatencyReport>(key, v, &mut out) {
                let mut t = table(&[&format!("{key} (ms)"), "n", "mean", "p50", "p90", "p99", "p99.9", "max"]);
                let mode = match l.mode {
                    aite_latency::LatencyMode::Inference => "inference",
                    aite_latency::LatencyMode::EndToEnd => "end-to-end",
                };
                t.add_row(summary_row(&format!("{} ({mode})", l.scenario.name()), &l.latency));
                use aite_latency::Stage;
                for (name, s, stage) in [
                    ("  decode", &l.stages.decode, Some(Stage::Decode)),
                    ("  preprocess", &l.stages.preprocess, Some(Stage::Preprocess)),
                    ("  inference", &Some(l.stages.inference.clone()), Some(Stage::Inference)),
                    ("  postprocess", &l.stages.postprocess, Some(Stage::Postprocess)),
                    ("  queueing", &l.stages.queueing, None),
                    ("first after idle", &l.after_idle, None),
                    ("steady", &l.steady, None),
                ] {
                    if let Some(s) = s {
                        t.add_row(summary_row(name, s));
                    }
                    // The named parts of the stage (the OCR read's), under it.
                    for p in l.stages.parts.iter().filter(|p| Some(p.stage) == stage) {
                        t.add_row(summary_row(&format!("    {}", p.name), &p.latency));
                    }
                }
                right(&mut t, 1);
                let _ = writeln!(out, "{t}");
                let es = &l.early_stopping;
                if let Some(o) = &l.offline {
                    let _ = writeln!(
                        out,
                        "offline: one query of {} samples ({} completed) in {:.1} s, batch {}, concurrency {}, {} inferences; throughput {:.1} samples/s",
                        o.samples_issued,
                        o.samples_completed,
                        o.duration_ns as f64 / 1e9,
                        o.batch,
                        o.concurrency,
                        o.inferences,
                        o.throughput_sps
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "{} queries in {:.1} s, {:.1} samples/s; early-stopping p{} estimate: {}",
                        l.queries,
                        l.duration_ms / 1e3,
                        l.throughput_sps,
                        es.percentile * 100.0,
                        es.estimate_ms.map(|v| format!("{v:.3} ms")).unwrap_or_else(|| format!("none (need {} queries)", es.min_queries))
                    );
                }
                // A detector's or OCR read's results per frame (post-processing time grows with them); a classifier counts none.
                if let Some(r) = &l.results_per_frame {
                    let _ = writeln!(out, "{r}");
                }
                if l.errors > 0 {
                    let _ = writeln!(out, "{}; statistics cover successful queries only", latency_errors_words(l.errors, l.error_rate, l.outage.as_ref()));
                }
                match &l.server {
                    Some(aite_latency::ServerTime::Measured(s)) => {
                        let ms = |n: Option<f64>| n.map_or("n/a".to_string(), |n| format!("{:.3} ms", n / 1e6));
                        let in_server = s.success.and_then(|p| p.mean_ns());
                        let _ = writeln!(
                            out,
                            "server time per request ({} inferences counted by the server): queue {}, compute input {}, infer {}, output {}; in server {} against {:.3} ms client mean{}",
                            s.inference_count.map_or("n/a".into(), |n| n.to_string()),
                            ms(s.queue.and_then(|p| p.mean_ns())),
                            ms(s.compute_input.and_then(|p| p.mean_ns())),
                            ms(s.compute_infer.and_then(|p| p.mean_ns())),
                            ms(s.compute_output.and_then(|p| p.mean_ns())),
                            ms(s.success.and_then(|p| p.mean_ns())),
                            l.latency.mean_ms,
                            in_server.map(|n| format!(" (network and serialisation {:.3} ms)", l.latency.mean_ms - n / 1e6)).unwrap_or_default(),
                        );
                    }
                    Some(aite_latency::ServerTime::NotExposed { why }) => {
                        let _ = writeln!(out, "server time: {why}");
                    }
                    Some(aite_latency::ServerTime::Inconsistent { why, .. }) => {
                        let _ = writeln!(out, "server time: not measured, the server's statistics are inconsistent with aite's requests: {why}");
                    }
                    None => {}
                }
                if let Some(d) = &l.drift {
                    let _ = writeln!(out, "drift: {:+.3} ms/min, last/first window p50 {:.3}", d.slope_ms_per_minute, d.last_to_first_ratio);
                }
                let r = &l.resources;
                let _ = writeln!(
                    out,
                    "resources: peak RSS {}, CPU {} cores busy of {}{}",
                    r.peak_rss_bytes.map(|b| format!("{:.1} MiB", b as f64 / 1048576.0)).unwrap_or_else(|| "n/a".into()),
                    r.cpu_cores_busy.map(|c| format!("{c:.2}")).unwrap_or_else(|| "n/a".into()),
                    r.logical_cpus,
                    r.frequency_before.governor.as_ref().map(|g| format!(", governor {g}")).unwrap_or_default()
                );
                if let Some(m) = l.deadline_misses {
                    let _ = writeln!(out, "deadline misses (latency > frame period): {m}");
                }
                let _ = writeln!(out, "result: {}", if l.validity.valid { "VALID".to_string() } else { format!("INVALID — {}", l.validity.reasons.join("; ")) });
            }
        }
        if let Some(c) = section::<ColdStart>(results, "cold_start", &mut out) {
            let _ = writeln!(
                out,
                "cold start{}: load {:.1} ms, first inference {:.3} ms, second {:.3} ms",
                if c.fresh_process { " (fresh process)" } else { "" },
                c.load_ms,
                c.first_inference_ms,
                c.second_inference_ms
            );
        }
        if let Some(v) = results.suites.get("caching_audit") {
            if let Some(c) = read_section::<CachingAudit>("caching_audit", v, &mut out) {
                let verdict = match &c.verdict {
                    CachingVerdict::Pass => "PASS".to_string(),
                    CachingVerdict::Fail => "FAIL".to_string(),
                    CachingVerdict::Inconclusive { why } => format!("INCONCLUSIVE — {why}"),
                    CachingVerdict::NotApplicable { why } => format!("not applicable — {why}"),
                };
                match (c.distinct_median_ms, c.repeated_median_ms, c.speedup_fraction, &c.speedup_interval) {
                    (Some(d), Some(r), Some(s), Some(ci)) => {
                        let _ = writeln!(
                            out,
                            "caching audit (TEST04): median distinct {d:.3} ms, repeated {r:.3} ms, speed-up {:.1}% ({:.0}% CI {:.1}% – {:.1}%, limit {:.0}%): {verdict}",
                            s * 100.0,
                            ci.confidence * 100.0,
                            ci.low * 100.0,
                            ci.high * 100.0,
                            c.threshold * 100.0,
                        );
                    }
                    _ => {
                        let _ = writeln!(out, "caching audit (TEST04): {verdict}");
                    }
                }
            }
        }
        render_robustness(results, &mut out);
        match results.status {
            RunStatus::Complete => {}
            RunStatus::Interrupted => out.push_str("run interrupted: results cover the part that ran\n"),
            RunStatus::Failed => {
                let _ = writeln!(out, "run failed: {}", results.error.as_deref().unwrap_or("unknown error"));
            }
        }
        out
    }
}

fn render_security(results: &Results, out: &mut String) {
    use aite_security::{SecurityReport, Severity};
    let Some(r) = section::<SecurityReport>(results, "security", out) else {
        return;
    };
    if !r.complete() {
        let _ = writeln!(out, "INCOMPLETE: {} part(s) of the input were not examined, so no rule passes (exit code 6):", r.gaps.len());
        for g in r.gaps.iter().take(20) {
            let _ = writeln!(out, "  not examined: {g}");
        }
        if r.gaps.len() > 20 {
            let _ = writeln!(out, "  … {} more in results.json (security.gaps)", r.gaps.len() - 20);
        }
    }
    let c = &r.coverage;
    if let Some(kind) = c.single_file {
        let _ = writeln!(out, "coverage: 1 file examined as {kind} ({} bytes), given alone (not an image)", c.file_bytes);
    }
    let _ = writeln!(
        out,
        "coverage: {} of {} input bytes in extracted containers, {} not understood, {} unclaimed, {} padding; {} files ({} bytes), {} symlinks, {} device nodes; {} entries skipped",
        c.extracted_input_bytes, c.input_bytes, c.not_understood_bytes, c.unclaimed_bytes, c.padding_bytes, c.files, c.file_bytes, c.symlinks, c.devices, c.skipped.len()
    );
    for k in c.containers.iter().filter(|k| !k.status.is_extracted()) {
        let _ = writeln!(out, "  not examined: {} at offset {} ({})", k.format, k.offset, k.status);
    }
    let n = r.elf.len();
    if n > 0 {
        let share = |f: &dyn Fn(&aite_security::elf::ElfHardening) -> bool| r.elf.iter().filter(|h| f(h)).count();
        let _ = writeln!(
            out,
            "ELF files: {n} (libc for FORTIFY: {}); NX {}, canary {}, PIE {}, full RELRO {}, FORTIFY {}, stripped {}",
            r.libc.as_deref().unwrap_or("none found"),
            share(&|h| h.nx),
            share(&|h| h.canary),
            share(&|h| h.pie == aite_security::elf::Pie::Yes),
            share(&|h| h.relro == aite_security::elf::Relro::Full),
            share(&|h| h.fortify),
            share(&|h| !h.symbols)
        );
    }
    if !r.keys.is_empty() {
        use aite_security::keys::KeyObjectKind as K;
        let count = |k: K| r.keys.iter().filter(|o| o.kind == k).count();
        let weakest = r.keys.iter().filter(|o| !o.certificate.as_ref().is_some_and(|c| c.trust_store)).filter_map(|o| Some((o.security_bits?, o))).min_by_key(|(s, _)| *s);
        let _ = writeln!(
            out,
            "keys: {} private ({} encrypted), {} public, {} certificates; weakest outside trust stores: {}",
            count(K::PrivateKey),
            r.keys.iter().filter(|o| o.encrypted).count(),
            count(K::PublicKey),
            count(K::Certificate),
            weakest.map(|(s, o)| format!("{} {} bits ({s}-bit security) in {}", o.algorithm, o.bits.unwrap_or(0), o.path)).unwrap_or_else(|| "none".into())
        );
    }
    if !r.components.is_empty() {
        let mut by: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for c in &r.components {
            *by.entry(c.ecosystem.as_str()).or_insert(0) += 1;
        }
        let parts: Vec<String> = by.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let vulns = match r.osv_records {
            Some(n) => format!("{} known vulnerabilities from {n} OSV records", r.vulnerabilities.len()),
            None => "no OSV feed given".into(),
        };
        let _ = writeln!(out, "components: {} ({}); {vulns}", r.components.len(), parts.join(", "));
    }
    let mut t = table(&["severity", "rule", "count", "example", "clauses"]);
    let mut rules: Vec<(&str, Severity, usize, String, String)> = Vec::new();
    for f in r.findings.iter().filter(|f| f.failed()) {
        match rules.iter_mut().find(|x| x.0 == f.rule) {
            Some(x) => x.2 += 1,
            None => rules.push((&f.rule, f.severity, 1, f.message.clone(), f.clauses.join(", "))),
        }
    }
    rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (rule, sev, count, example, clauses) in &rules {
        let example: String = example.chars().take(70).collect();
        t.add_row(vec![format!("{sev:?}").to_lowercase(), rule.to_string(), count.to_string(), example, clauses.clone()]);
    }
    let _ = writeln!(out, "{t}");
    use aite_security::RuleStatus as S;
    let count = |s: S| r.rules.iter().filter(|o| o.status == s).count();
    let _ = writeln!(out, "rules: {} fail, {} pass, {} not applicable, {} not checked", count(S::Fail), count(S::Pass), count(S::NotApplicable), count(S::NotChecked));
    let passed: Vec<String> = r.rules.iter().filter(|o| o.status == S::Pass).map(|o| format!("{} ({} {})", o.rule, o.examined, o.subject)).collect();
    if !passed.is_empty() {
        let _ = writeln!(out, "pass: {}", passed.join(", "));
    }
    // On an incomplete scan every undecided rule has the same reason: one line.
    let undecided = |o: &&aite_security::RuleOutcome| o.not_checked == Some(aite_security::NotCheckedCause::IncompleteScan);
    let held: Vec<&str> = r.rules.iter().filter(undecided).map(|o| o.rule.as_str()).collect();
    if !held.is_empty() {
        let _ = writeln!(out, "not checked, the scan is incomplete: {}", held.join(", "));
    }
    for o in r.rules.iter().filter(|o| o.status == S::NotChecked && !undecided(o)) {
        let _ = writeln!(out, "not checked: {} ({})", o.rule, o.reason);
    }
    // Not applicable, one line per reason.
    let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
    for o in r.rules.iter().filter(|o| o.status == S::NotApplicable) {
        match by_reason.iter_mut().find(|(why, _)| *why == o.reason) {
            Some((_, ids)) => ids.push(&o.rule),
            None => by_reason.push((&o.reason, vec![&o.rule])),
        }
    }
    for (why, ids) in by_reason {
        let _ = writeln!(out, "not applicable ({why}): {}", ids.join(", "));
    }
}

fn render_robustness(results: &Results, out: &mut String) {
    render_security(results, out);
    render_consistency(results, out);
    render_corruptions(results, out);
    render_detection_accuracy(results, out);
    render_detection_corruptions(results, out);
    render_attacks(results, out);
    render_detector_attacks(results, out);
}

fn render_detector_attacks(results: &Results, out: &mut String) {
    use aite_robustness::attack::{DetectorAttackReport, GoalApplicability};
    for (key, v) in results.suites.iter().filter(|(k, _)| k.starts_with("detector_attack_")) {
        let Some(r) = read_section::<DetectorAttackReport>(key, v, out) else { continue };
        let s = &r.settings.attack;
        let eps = if s.kind.norm() == "linf" { format!("{:.2}/255", s.epsilon * 255.0) } else { format!("L2 {:.2}", s.epsilon) };
        let head = format!("detector attack {} {} ({eps}, {} queries)", r.settings.goal.name(), s.kind.name(), s.budget);
        if let GoalApplicability::NotApplicable { why } = &r.applicability {
            let _ = writeln!(out, "{head}: not applicable: {why}");
            continue;
        }
        let rate = |p: &Option<aite_accuracy::Proportion>| match p {
            Some(p) => format!("{} ({}/{}, {} – {})", pct(p.value), p.successes, p.trials, pct(p.ci95_low), pct(p.ci95_high)),
            None => "not measured (no frame attacked)".into(),
        };
        let queries = match (r.queries_mean, r.queries_median) {
            (Some(m), Some(med)) => format!("queries of successes mean {m:.0} / median {med:.0}"),
            _ => "no success".into(),
        };
        let _ = writeln!(out, "{head}: success {}, {queries}; {} baseline {}", rate(&r.success_rate), r.noise_kind.name(), rate(&r.noise_success_rate));
        let _ = writeln!(out, "  {} frames: {} attacked, {} without a clean detection (not applicable), {} target errors", r.frames, r.attacked, r.no_clean_detection, r.target_errors);
    }
}

fn render_attacks(results: &Results, out: &mut String) {
    use aite_robustness::attack::{AttackReport, Channel};
    let mut reports: Vec<AttackReport> = Vec::new();
    for (key, v) in results.suites.iter().filter(|(k, _)| k.starts_with("attack_") && *k != "attack_worst_case") {
        if let Some(r) = read_section(key, v, out) {
            reports.push(r);
        }
    }
    if reports.is_empty() {
        return;
    }
    let mut t = table(&["attack", "eps", "channel", "budget", "clean", "robust acc.", "95% CI", "success", "queries mean/median", "after uint8", "after JPEG"]);
    for r in &reports {
        let s = &r.settings;
        let eps = if s.kind.norm() == "linf" { format!("{:.2}/255", s.epsilon * 255.0) } else { format!("L2 {:.2}", s.epsilon) };
        let channel = match s.channel {
            Channel::Float => "float".to_string(),
            Channel::Uint8 => "uint8".into(),
            Channel::Jpeg { quality } => format!("jpeg q{quality}"),
        };
        t.add_row(vec![
            s.kind.name().to_string(),
            eps,
            channel,
            s.budget.to_string(),
            pct(r.clean_accuracy.value),
            pct(r.robust_accuracy.value),
            format!("{} – {}", pct(r.robust_accuracy.ci95_low), pct(r.robust_accuracy.ci95_high)),
            format!("{} ({}/{})", pct(r.attack_success_rate.value), r.attack_success_rate.successes, r.attack_success_rate.trials),
            match (r.queries_mean, r.queries_median) {
                (Some(m), Some(med)) => format!("{m:.0} / {med:.0}"),
                _ => "-".into(),
            },
            pct(r.robust_accuracy_uint8.value),
            pct(r.robust_accuracy_jpeg.value),
        ]);
    }
    right(&mut t, 3);
    let _ = writeln!(out, "adversarial robustness on {} samples (robust accuracy = correct after attack / all samples; success over clean-correct)", reports[0].samples);
    let _ = writeln!(out, "{t}");
    if let Some(w) = section::<serde_json::Value>(results, "attack_worst_case", out) {
        // One per threat model (norm and epsilon); not applicable with why, no figure, over
        // fewer than two attack families or different samples.
        for g in aite_assessment::worst_case::recorded(&w, |name| results.suites.get(name)) {
            let key = format!("attack_worst_case[{}].robust_accuracy", g.threat_model());
            let null = serde_json::Value::Null;
            let at = if g.status() == Some("not-applicable") { g.record } else { g.record.get("robust_accuracy").unwrap_or(&null) };
            if let Some(p) = read_section::<aite_accuracy::Proportion>(&key, at, out) {
                let _ = writeln!(out, "worst case at {} over {} (per sample): robust accuracy {} ({} – {})", g.threat_model(), g.attacks().join(", "), pct(p.value), pct(p.ci95_low), pct(p.ci95_high));
            }
        }
    }
}

fn render_consistency(results: &Results, out: &mut String) {
    use aite_robustness::{Agreement, BatchInvariance, DegenerateFrame, FrameOutcome, FrameVerdict, MetamorphicResult, Repeatability};
    if let Some(r) = section::<Repeatability>(results, "repeatability", out) {
        let _ = writeln!(
            out,
            "repeatability: {} samples x {} runs, {}, max |diff| {:.3e}, top-1 flips {}{}",
            r.samples,
            r.repeats,
            if r.identical { "bit-identical" } else { "NOT identical" },
            r.max_abs_diff,
            r.top1_flips,
            if r.non_finite_answers > 0 { format!(", {} answer(s) with NaN/Inf", r.non_finite_answers) } else { String::new() }
        );
    }
    if let Some(b) = section::<BatchInvariance>(results, "batch_invariance", out) {
        let _ = writeln!(
            out,
            "batch invariance: batch {} vs 1 on {} samples, max |diff| {:.3e}, top-1 flips {}: {} (tolerance {:.0e})",
            b.batch,
            b.samples,
            b.max_abs_diff,
            b.top1_flips,
            if b.within_tolerance { "invariant" } else { "NOT invariant" },
            b.tolerance
        );
    }
    if let Some(a) = section::<Agreement>(results, "agreement", out) {
        let non_finite = a.disagreements.iter().filter(|d| d.non_finite).count();
        let _ = writeln!(
            out,
            "agreement {} vs {}: top-1 {} ({} of {}), max |diff| {:.4}, mean |diff| {:.2e}, SQNR {}{}",
            a.deployed,
            a.reference,
            pct(a.top1_agreement.value),
            a.top1_agreement.successes,
            a.top1_agreement.trials,
            a.max_abs_diff,
            a.mean_abs_diff,
            match a.sqnr_db {
                None => "inf (identical)".into(),
                Some(d) if d.is_nan() => "undefined (NaN in an answer)".into(),
                Some(d) => format!("{d:.1} dB"),
            },
            if non_finite > 0 { format!(", {non_finite} sample(s) with NaN/Inf answers") } else { String::new() }
        );
    }
    render_detector_consistency(results, out);
    if let Some(frames) = section::<Vec<DegenerateFrame>>(results, "degenerate_frames", out) {
        let mut t = table(&["degenerate frame", "outcome", "ms", "graceful"]);
        for f in frames {
            let outcome = match &f.outcome {
                FrameOutcome::Answered { top1, confidence, output_has_nan } => {
                    format!("class {top1} ({:.0}%){}", confidence * 100.0, if *output_has_nan { ", NaN/Inf in output" } else { "" })
                }
                FrameOutcome::Rejected { error } => format!("rejected: {}", error.lines().next().unwrap_or("").chars().take(60).collect::<String>()),
                FrameOutcome::Crashed { message } => format!("CRASHED: {message}"),
                FrameOutcome::PostprocessFailed { error, output_has_nan } => format!("postprocess failed{}: {}", if *output_has_nan { " (NaN/Inf output)" } else { "" }, error.lines().next().unwrap_or("").chars().take(60).collect::<String>()),
                FrameOutcome::NotApplicable { reason } => format!("not run: {reason}"),
                FrameOutcome::Detected { detections, limit, best_score, output_has_nan } => format!(
                    "{detections} detection(s) (limit {limit}{}){}",
                    best_score.map(|s| format!(", best {s:.2}")).unwrap_or_default(),
                    if *output_has_nan { ", NaN/Inf in output" } else { "" }
                ),
            };
            let verdict = match f.verdict {
                FrameVerdict::Graceful => "yes",
                FrameVerdict::NotGraceful => "NO",
                FrameVerdict::NotApplicable => "n/a",
            };
            t.add_row(vec![format!("{:?}", f.kind), outcome, f.elapsed_ms.map(|ms| format!("{ms:.2}")).unwrap_or_else(|| "-".into()), verdict.into()]);
        }
        let _ = writeln!(out, "{t}");
    }
    if let Some(m) = section::<Vec<MetamorphicResult>>(results, "metamorphic", out) {
        let mut t = table(&["metamorphic relation", "flip rate", "95% CI", "flips"]);
        for r in m {
            t.add_row(vec![
                serde_json::to_string(&r.relation).unwrap_or_default(),
                pct(r.flips.value),
                format!("{} – {}", pct(r.flips.ci95_low), pct(r.flips.ci95_high)),
                format!("{} / {}", r.flips.successes, r.flips.trials),
            ]);
        }
        right(&mut t, 1);
        let _ = writeln!(out, "{t}");
    }
}

fn render_detector_consistency(results: &Results, out: &mut String) {
    use aite_robustness::{DetectionAgreement, DetectionBatchInvariance, DetectionRepeatability};
    if let Some(r) = section::<DetectionRepeatability>(results, "detection_repeatability", out) {
        let _ = writeln!(
            out,
            "detection repeatability: {} samples x {} runs, {} detections, {}, max |score diff| {:.3e}, max box diff {:.3e}, count changes {}{}",
            r.samples,
            r.repeats,
            r.detections,
            match (r.status, &r.why) {
                (aite_robustness::Examination::NotChecked, why) => format!("not checked ({})", why.as_deref().unwrap_or("nothing examined")),
                (_, _) if r.identical => format!("bit-identical on {} examined frame(s)", r.examined_frames),
                _ => format!("NOT identical ({} examined frame(s))", r.examined_frames),
            },
            r.max_score_diff,
            r.max_box_diff,
            r.count_mismatches,
            if r.non_finite_answers > 0 { format!(", {} answer(s) with NaN/Inf", r.non_finite_answers) } else { String::new() }
        );
    }
    if let Some(b) = section::<DetectionBatchInvariance>(results, "detection_batch_invariance", out) {
        let _ = writeln!(
            out,
            "detection batch invariance: batch {} vs 1 on {} samples, max |score diff| {:.3e}, max box diff {:.3e}, count changes {}: {} (tolerance {:.0e})",
            b.batch,
            b.samples,
            b.max_score_diff,
            b.max_box_diff,
            b.count_mismatches,
            if b.within_tolerance { "invariant" } else { "NOT invariant" },
            b.tolerance
        );
    }
    if let Some(a) = section::<DetectionAgreement>(results, "detection_agreement", out) {
        let opt = |v: Option<f64>, p: usize| v.map(|v| format!("{v:.p$}")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "detection agreement {} vs {}: frames {} ({} of {}), {} of {} reference / {} deployed detections matched at IoU {}, mean IoU {}, min IoU {}, max |score diff| {}",
            a.deployed,
            a.reference,
            pct(a.frame_agreement.value),
            a.frame_agreement.successes,
            a.frame_agreement.trials,
            a.matched,
            a.reference_detections,
            a.deployed_detections,
            a.iou_threshold,
            opt(a.mean_iou, 4),
            opt(a.min_iou.map(f64::from), 4),
            opt(a.max_score_diff.map(f64::from), 5)
        );
    }
}

/// COCO AP of a detector against labels (`detection_accuracy`; `_reference` for its reference model in the demo).
#[derive(serde::Deserialize)]
struct DetectionAccuracy {
    labels: String,
    images: usize,
    ground_truth_boxes: usize,
    detections: usize,
    ap: f64,
    ap50: f64,
}

fn render_detection_accuracy(results: &Results, out: &mut String) {
    for (key, which) in [("detection_accuracy", ""), ("detection_accuracy_reference", " (reference model)")] {
        if let Some(a) = results.suites.get(key).filter(|v| v.get("ap").is_some()).and_then(|v| read_section::<DetectionAccuracy>(key, v, out)) {
            let _ = writeln!(out, "detection AP{which}: AP@[.5:.95] {:.4}, AP50 {:.4} on {} images ({} labeled boxes in {}), {} detections", a.ap, a.ap50, a.images, a.ground_truth_boxes, a.labels, a.detections);
        }
    }
}

/// The detector sweep: AP per corruption and severity, mPC and rPC (Michaelis et al. 2019).
fn render_detection_corruptions(results: &Results, out: &mut String) {
    use aite_robustness::corruption::detection::{DetectionSweepReport, RpcStatus};
    let Some(r) = section::<DetectionSweepReport>(results, "detection_corruptions", out) else {
        return;
    };
    let mut sev: Vec<u8> = r.cells.iter().map(|c| c.severity).collect();
    sev.sort();
    sev.dedup();
    let mut kinds: Vec<_> = r.cells.iter().map(|c| c.corruption).collect();
    kinds.dedup();
    let mut header: Vec<String> = vec![format!("{} (AP50)", r.ap_name)];
    header.extend(sev.iter().map(|s| format!("s{s}")));
    let mut t = table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for k in kinds {
        let mut row = vec![k.to_string()];
        for s in &sev {
            row.push(r.cells.iter().find(|c| c.corruption == k && c.severity == *s).map(|c| format!("{:.3} ({:.3})", c.ap, c.ap50)).unwrap_or_else(|| "-".into()));
        }
        t.add_row(row);
    }
    let _ = writeln!(out, "{t}");
    let ci = |i: &aite_robustness::corruption::Interval| format!("{:.3} ({:.3} – {:.3})", i.value, i.ci95_low, i.ci95_high);
    let rpc = match (&r.rpc, &r.rpc_status) {
        (Some(i), _) => ci(i),
        (None, RpcStatus::CleanApIsOneByConstruction) => "not reported: clean AP is 1 by construction against the clean predictions".into(),
        (None, _) => "not reported: clean AP is 0".into(),
    };
    let aps = if r.ap_name == "AP" { String::new() } else { format!(" ({})", r.ap_name) };
    let _ = writeln!(out, "detector corruptions{aps}: clean {:.3} (AP50 {:.3}) on {} frames, {} ground-truth boxes; mPC {}, mPC50 {}; rPC {}", r.clean_ap, r.clean_ap50, r.samples, r.ground_truth_boxes, ci(&r.mpc), ci(&r.mpc50), rpc);
}

fn render_corruptions(results: &Results, out: &mut String) {
    use aite_robustness::corruption::CorruptionReport;
    let Some(r) = section::<CorruptionReport>(results, "corruptions", out) else {
        return;
    };
    let sev = &r.options.severities;
    let mut header: Vec<String> = vec!["corruption".into()];
    header.extend(sev.iter().map(|s| format!("s{s}")));
    header.extend(["mean".into(), "95% CI".into(), "CE".into(), "rel. CE".into()]);
    let mut t = table(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for s in &r.summaries {
        let mut row = vec![format!("{}{}", s.corruption, if s.group == "imagenet-c" { "" } else if s.group == "held-out" { " (held-out)" } else { " (camera)" })];
        for v in sev {
            row.push(r.cells.iter().find(|c| c.corruption == s.corruption && c.severity == *v).map(|c| pct(c.accuracy.value)).unwrap_or_else(|| "-".into()));
        }
        row.push(pct(s.accuracy.value));
        row.push(format!("{} – {}", pct(s.accuracy.ci95_low), pct(s.accuracy.ci95_high)));
        row.push(s.ce.map(|c| format!("{:.1}", c.value * 100.0)).unwrap_or_else(|| "-".into()));
        row.push(s.relative_ce.map(|c| format!("{:.1}", c.value * 100.0)).unwrap_or_else(|| "-".into()));
        t.add_row(row);
    }
    right(&mut t, 1);
    let _ = writeln!(out, "corruptions: accuracy per severity on {} samples ({} table)", r.samples, r.cells.first().map(|c| c.tables.iter().map(|t| t.name()).collect::<Vec<_>>().join("+")).unwrap_or_default());
    let _ = writeln!(out, "{t}");
    let _ = writeln!(out, "corruptions applied at: {}", corrupt_at_words(r.options.corrupt_at));
    let _ = write!(out, "clean {} ({} – {})", pct(r.clean.value), pct(r.clean.ci95_low), pct(r.clean.ci95_high));
    if let Some(m) = r.mean_corruption_accuracy {
        let _ = write!(out, ", mean corruption accuracy {} ({} – {}), degradation {:.2} pp", pct(m.value), pct(m.ci95_low), pct(m.ci95_high), (r.clean.value - m.value) * 100.0);
    }
    let _ = writeln!(out, "; {}", mce_words(r.mce, r.relative_mce, &r.mce_status));
    if r.missing_cells > 0 {
        let _ = writeln!(out, "{} cells not in this run (other shards, or interrupted): merge shards with `aite merge`", r.missing_cells);
    }
}

/// A remote target's failed queries and longest outage, e.g. "3 errors (1.50% of issued
/// queries), longest outage 120.0 ms (2 queries from query 17)".
pub(crate) fn latency_errors_words(errors: u64, error_rate: f64, outage: Option<&aite_latency::OutageWindow>) -> String {
    let outage = match outage {
        Some(o) => format!(
            ", longest outage {:.1} ms ({} quer{} from query {}{})",
            o.ms,
            o.queries,
            if o.queries == 1 { "y" } else { "ies" },
            o.first_query,
            if o.ongoing { ", still failing when the run ended" } else { "" }
        ),
        None => ", outage not recorded".into(),
    };
    format!("{errors} error{} ({:.2}% of issued queries){outage}", if errors == 1 { "" } else { "s" }, error_rate * 100.0)
}

/// `options.corrupt_at` in words.
pub(crate) fn corrupt_at_words(c: aite_robustness::corruption::CorruptAt) -> &'static str {
    use aite_robustness::corruption::CorruptAt;
    match c {
        CorruptAt::Auto => "auto (ImageNet-C, held-out and alternative corruptions at the model input, camera shifts on the frame)",
        CorruptAt::Input => "input (every corruption at the model input)",
        CorruptAt::Frame => "frame (every corruption on the native frame, before preprocessing)",
    }
}

/// mCE (x100) with its interval when the protocol holds, otherwise every unmet condition.
pub(crate) fn mce_words(
    mce: Option<aite_robustness::corruption::Interval>,
    relative: Option<aite_robustness::corruption::Interval>,
    status: &aite_robustness::corruption::MceStatus,
) -> String {
    use aite_robustness::corruption::{IntervalMethod, MceStatus, MceUnmet};
    let iv = |m: aite_robustness::corruption::Interval| format!("{:.1} ({:.1} – {:.1})", m.value * 100.0, m.ci95_low * 100.0, m.ci95_high * 100.0);
    let list = |ks: &[aite_robustness::CorruptionKind]| ks.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
    match (status, mce) {
        (MceStatus::Reported { interval: IntervalMethod::BootstrapOverImages { resamples, .. } }, Some(m)) => format!(
            "mCE {}, relative mCE {} (95% intervals: bootstrap over images, {resamples} resamples)",
            iv(m),
            relative.map(iv).unwrap_or_else(|| "not recorded".into())
        ),
        (MceStatus::Reported { .. }, None) => "mCE not reported: recorded as reported but its value is absent".into(),
        (MceStatus::NotReported { reasons }, _) => {
            let words: Vec<String> = reasons
                .iter()
                .map(|u| match u {
                    MceUnmet::NotImagenetLabels => "the model's outputs are not ImageNet's label space (1000 or 1001 classes)".into(),
                    MceUnmet::NotImagenetVal { sample: Some(s) } => format!("the samples are not ILSVRC-2012 validation images by name, where AlexNet's errors were measured (e.g. {s})"),
                    MceUnmet::NotImagenetVal { sample: None } => "the samples were not recorded as ILSVRC-2012 validation images, where AlexNet's errors were measured".into(),
                    MceUnmet::Incomplete { corruptions } => format!("not run on all five severities: {}", list(corruptions)),
                    MceUnmet::NotAtInput { corruptions } => format!("corrupted on the frame, not at the model input: {}", list(corruptions)),
                    MceUnmet::NotImagenetTable { corruptions } => format!("another parameter table than ImageNet-C's: {}", list(corruptions)),
                    MceUnmet::NotSavedAsJpeg { corruptions } => format!("not saved as JPEG q85 after the corruption as make_imagenet_c.py wrote AlexNet's files (--imagenet-c-jpeg off): {}", list(corruptions)),
                    MceUnmet::NotRecorded => "written by a version that did not record the protocol conditions".into(),
                })
                .collect();
            format!("mCE not reported: {}", if words.is_empty() { "no reason recorded".into() } else { words.join("; ") })
        }
    }
}

/// `aite inspect` output.
pub fn render_model_report(r: &ModelReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", r.path);
    let _ = writeln!(out, "  format       {:?}{}", r.format, if r.producer.is_empty() { String::new() } else { format!(" (producer: {})", r.producer) });
    if !r.opsets.is_empty() {
        let sets: Vec<String> = r.opsets.iter().map(|(d, v)| format!("{}{}", if d.is_empty() { "ai.onnx:" } else { "" }, if d.is_empty() { v.to_string() } else { format!("{d}:{v}") })).collect();
        let _ = writeln!(out, "  opsets       {}", sets.join(", "));
    }
    let _ = writeln!(out, "  size         {} bytes", r.size_bytes);
    let _ = writeln!(out, "  sha256       {}", r.sha256);
    for d in &r.external_data {
        let _ = writeln!(out, "  weights in   {} ({} bytes, sha256 {})", d.path, d.size_bytes, d.sha256);
    }
    let constants = if r.constant_parameters > 0 { format!(" ({} in Constant nodes)", r.constant_parameters) } else { String::new() };
    let _ = writeln!(out, "  parameters   {}{constants}", r.parameters);
    let _ = writeln!(out, "  quantization {:?}", r.quantization);
    if !r.custom_domains.is_empty() {
        let _ = writeln!(out, "  custom ops   {}", r.custom_domains.join(", "));
    }
    let mut t = table(&["tensor", "name", "dtype", "shape"]);
    for (kind, specs) in [("input", &r.inputs), ("output", &r.outputs)] {
        for s in specs {
            t.add_row(vec![kind.to_string(), s.name.clone(), s.dtype.to_string(), s.shape_string()]);
        }
    }
    let _ = writeln!(out, "{t}");
    let mut ops: Vec<(&String, &usize)> = r.operators.iter().collect();
    ops.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut t = table(&["operator", "count"]);
    for (op, n) in ops {
        t.add_row(vec![op.clone(), n.to_string()]);
    }
    right(&mut t, 1);
    let _ = writeln!(out, "{t}");
    out
}
