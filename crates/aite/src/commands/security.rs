//! `aite security INPUT`: the static security scan and its evidence.

use crate::cli::SecurityArgs;
use crate::common::*;
use crate::exit::Exit;
use aite_evidence::{InputArtifact, Results, RunStatus};
use aite_security::{scan_with, Limits, ScanOptions, Severity};
use anyhow::{Context, Result};

/// The serde name of an enum value (`full`, `dso`...), as results.json writes it.
fn name<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub fn elf_csv(r: &aite_security::SecurityReport) -> Vec<u8> {
    let mut s = String::from("path,machine,bits,relro,canary,nx,pie,rpath,runpath,symbols,fortify,fortified,fortifiable,static\n");
    let q = |v: &str| if v.contains([',', '"']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v.to_string() };
    for h in &r.elf {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            q(&h.path),
            h.machine,
            h.bits,
            name(h.relro),
            h.canary,
            h.nx,
            name(h.pie),
            q(&h.rpath.join(":")),
            q(&h.runpath.join(":")),
            h.symbols,
            h.fortify,
            h.fortified,
            h.fortifiable.map(|n| n.to_string()).unwrap_or_default(),
            h.static_binary
        ));
    }
    s.into_bytes()
}

/// One row per key object: what it is, where, how strong, certificate dates.
pub fn keys_csv(r: &aite_security::SecurityReport) -> Vec<u8> {
    let mut s = String::from("path,offset,kind,format,algorithm,bits,security_bits,encrypted,subject,issuer,not_before,not_after,self_signed,is_ca,trust_store,error\n");
    let q = |v: &str| if v.contains([',', '"', '\n']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v.to_string() };
    let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
    for o in &r.keys {
        let c = o.certificate.as_ref();
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            q(&o.path),
            o.offset,
            name(o.kind),
            q(&o.format),
            q(&o.algorithm),
            opt(o.bits),
            opt(o.security_bits),
            o.encrypted,
            q(c.map(|c| c.subject.as_str()).unwrap_or("")),
            q(c.map(|c| c.issuer.as_str()).unwrap_or("")),
            c.map(|c| c.not_before.to_string()).unwrap_or_default(),
            c.map(|c| c.not_after.to_string()).unwrap_or_default(),
            c.map(|c| c.self_signed.to_string()).unwrap_or_default(),
            c.map(|c| c.is_ca.to_string()).unwrap_or_default(),
            c.map(|c| c.trust_store.to_string()).unwrap_or_default(),
            q(o.error.as_deref().unwrap_or(""))
        ));
    }
    s.into_bytes()
}

pub fn run(a: SecurityArgs) -> Result<u8> {
    if !a.input.exists() {
        anyhow::bail!(aite_security::UnpackError::Io { path: a.input.clone(), source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder") });
    }
    std::fs::create_dir_all(&a.output.out).with_context(|| format!("cannot create {}", a.output.out.display()))?;
    // Extraction happens inside the output folder and is removed afterwards.
    let work = tempfile::Builder::new().prefix(".security-work-").tempdir_in(&a.output.out).with_context(|| format!("cannot create a work folder in {}", a.output.out.display()))?;
    let limits = Limits { max_total_bytes: a.max_bytes, max_files: a.max_files, ..Limits::default() };
    let model_keys = a.model_keys.iter().map(|k| aite_security::signing::VerifyingKey::from_pem_file(k)).collect::<Result<Vec<_>, _>>()?;
    let osv = a.osv.as_deref().map(aite_security::components::load_osv).transpose()?;
    let started = std::time::Instant::now();
    let report = scan_with(&a.input, work.path(), &ScanOptions { limits, model_keys, now: None, osv })?;
    let seconds = started.elapsed().as_secs_f64();
    let mut results = Results::new("security", serde_json::json!({ "input": a.input }));
    let input_sha256 = if a.input.is_file() { Some(aite_engine::sha256_file(&a.input)?) } else { None };
    if let Some(sha) = &input_sha256 {
        results.inputs.push(InputArtifact { role: "firmware".into(), name: a.input.display().to_string(), sha256: sha.clone(), count: None });
    }
    // The keys model signatures were judged against are part of what the verdict stands on.
    for k in &a.model_keys {
        results.inputs.push(InputArtifact { role: "model-key".into(), name: k.display().to_string(), sha256: aite_engine::sha256_file(k)?, count: None });
    }
    if let Some(feed) = &a.osv {
        let sha = if feed.is_file() { aite_engine::sha256_file(feed)? } else { String::new() };
        results.inputs.push(InputArtifact { role: "osv-feed".into(), name: feed.display().to_string(), sha256: sha, count: report.osv_records });
    }
    let sbom = aite_security::components::cyclonedx(&a.input.display().to_string(), input_sha256.as_deref(), &report.components, &report.models, &report.vulnerabilities, env!("CARGO_PKG_VERSION"));
    results.add_suite("security", &report);
    results.finish(RunStatus::Complete);
    let sarif = aite_security::sarif::sarif(&report.findings, env!("CARGO_PKG_VERSION"), serde_json::json!({ "input": a.input, "coverage": report.coverage }));
    let cfg = serde_json::json!({ "command": "security", "input": a.input, "limits": limits, "model_keys": a.model_keys, "osv": a.osv, "seconds": seconds });
    let raw: RawFiles = vec![
        ("findings.sarif".into(), serde_json::to_vec_pretty(&sarif)?),
        ("elf-hardening.csv".into(), elf_csv(&report)),
        ("keys.csv".into(), keys_csv(&report)),
        ("sbom.cdx.json".into(), serde_json::to_vec_pretty(&sbom)?),
        ("coverage.json".into(), serde_json::to_vec_pretty(&report.coverage)?),
    ];
    drop(work);
    let dir = write_evidence(&a.output, "security", &results, &cfg, raw)?;
    if let Some(code) = super::run::judge(&a.assess, &dir, a.output.json)? {
        return Ok(code);
    }
    let serious = report.findings.iter().any(|f| f.failed() && f.severity >= Severity::High);
    Ok(if !report.complete() {
        Exit::Incomplete as u8
    } else if serious {
        Exit::Invalid as u8
    } else {
        Exit::Ok as u8
    })
}
