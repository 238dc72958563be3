//! `aite probe TARGET`: the network-surface probe and its evidence.

use crate::cli::ProbeArgs;
use crate::common::*;
use crate::exit::{Exit, UsageError};
use aite_evidence::{Results, RunStatus};
use aite_network::{Cidr, PortList, ProbeOptions, Scope};
use aite_security::{RuleStatus, Severity};
use anyhow::Result;
use std::time::Duration;

/// The probe's options from the command line; bad values are usage errors (exit 2).
pub fn options(a: &ProbeArgs) -> Result<ProbeOptions> {
    let usage = |e: aite_network::ProbeError| anyhow::Error::new(UsageError(e.to_string()));
    let allowed = a.allow_network.iter().map(|c| Cidr::parse(c)).collect::<Result<Vec<_>, _>>().map_err(usage)?;
    let declared = a.declared.as_deref().map(PortList::parse).transpose().map_err(usage)?.map(|p| p.0);
    Ok(ProbeOptions {
        ports: PortList::parse(&a.ports).map_err(usage)?,
        declared,
        scope: Scope { allowed },
        concurrency: a.concurrency.max(1),
        connect_timeout: Duration::from_millis(a.connect_timeout_ms.max(1)),
        step_timeout: Duration::from_millis(a.step_timeout_ms.max(1)),
        budget: Duration::from_secs(a.budget),
        reveal_passwords: a.reveal_passwords,
        ..ProbeOptions::default()
    })
}

/// One line per open port and failing finding, then the rules that did not pass.
fn summary(r: &aite_network::NetworkReport) -> String {
    let mut s = format!("network surface of {} ({}): {} ports scanned, {} open, {} closed, {} unknown, {:.1} s\n", r.target, r.address, r.ports_scanned, r.open.len(), r.closed, r.unknown_count, r.seconds);
    if !r.complete() {
        s.insert_str(0, "INCOMPLETE: ");
    }
    for svc in &r.services {
        let what = serde_json::to_value(&svc.service).ok().and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string)).unwrap_or_default();
        s.push_str(&format!("  {:>5}/tcp  {what}\n", svc.port));
    }
    for f in r.findings.iter().filter(|f| f.failed()) {
        s.push_str(&format!("FAIL {:?} {} {}: {}\n", f.severity, f.rule, f.path, f.message));
    }
    for o in r.rules.iter().filter(|o| o.status != RuleStatus::Pass && o.status != RuleStatus::Fail) {
        s.push_str(&format!("{} {}: {}\n", o.status.label(), o.rule, o.reason));
    }
    for g in &r.gaps {
        s.push_str(&format!("gap: {g}\n"));
    }
    s
}

pub fn run(a: ProbeArgs) -> Result<u8> {
    let opts = options(&a)?;
    let report = aite_network::probe(&a.target, &opts).map_err(|e| anyhow::Error::new(UsageError(e.to_string())))?;
    let mut results = Results::new("probe", serde_json::json!({ "target": a.target }));
    results.add_suite("network", &report);
    results.finish(RunStatus::Complete);
    let sarif = aite_network::rules::sarif(&report.findings, env!("CARGO_PKG_VERSION"), serde_json::json!({ "target": a.target, "address": report.address, "ports_scanned": report.ports_scanned }));
    let cfg = serde_json::json!({
        "command": "probe", "target": a.target, "ports": a.ports, "declared": a.declared, "allow_network": a.allow_network,
        "budget_s": a.budget, "concurrency": opts.concurrency, "connect_timeout_ms": a.connect_timeout_ms,
        "banner_wait_ms": opts.banner_wait.as_millis() as u64, "step_timeout_ms": opts.step_timeout.as_millis() as u64,
        "credential_pause_ms": opts.credential_pause.as_millis() as u64, "reveal_passwords": a.reveal_passwords,
        "default_credentials": aite_network::http::DEFAULT_CREDENTIALS.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
    });
    if !a.output.json {
        print!("{}", summary(&report));
    }
    write_evidence(&a.output, "probe", &results, &cfg, vec![("findings.sarif".into(), serde_json::to_vec_pretty(&sarif)?)])?;
    let serious = report.findings.iter().any(|f| f.failed() && f.severity >= Severity::High);
    Ok(if !report.complete() {
        Exit::Incomplete as u8
    } else if serious {
        Exit::Invalid as u8
    } else {
        Exit::Ok as u8
    })
}
