//! The basic security layer, static part: what a device ships.
//!
//! [`scan`] opens the input ([`unpack`]: a root filesystem folder, tar, cpio,
//! gzip/xz/zstd streams,
//! squashfs, uImage or a raw dump with those inside, extracted safely with a
//! [`unpack::Coverage`] report), then runs the checks over the resulting
//! [`tree::Tree`]:
//! - [`elf`]: hardening of every ELF file with checksec's rules, FORTIFY
//!   counted against the image's own libc;
//! - [`credentials`]: empty and default passwords (real crypt verification),
//!   UID 0 accounts, hashes in the wrong place or in weak schemes;
//! - [`keys`]: private keys, public keys and certificates (also inside
//!   binaries), their strength against the 112-bit floor, expiry and
//!   self-signatures; authorized_keys shipped in the image;
//! - [`surface`]: telnet, debuggers, adb, console shells and listening shells
//!   started at boot; sshd root password login;
//! - [`components`]: packages (dpkg, opkg, apk) and well-known binaries by
//!   version string, as a CycloneDX SBOM, matched offline against an OSV feed;
//! - [`models`]: pickles (opcode walk, allowlist), Keras Lambda layers, ONNX
//!   external data and custom domains, TFLite custom ops, with SHA-256;
//! - file modes: setuid/setgid and world-writable files.
//!
//! Every check produces [`finding::Finding`]s with severity, evidence and
//! clauses; rules that found nothing are recorded as passes. [`sarif`]
//! writes them as SARIF 2.1.0.

pub mod components;
pub mod credentials;
pub mod elf;
pub mod finding;
pub mod keys;
pub mod models;
pub mod reference;
pub mod sarif;
pub mod signing;
pub mod surface;
pub mod tree;
pub mod unpack;

pub use finding::{Finding, Severity, RULES};
pub use unpack::{Coverage, Limits, UnpackError};

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Everything the static security scan found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityReport {
    pub coverage: Coverage,
    /// The image's C library used for FORTIFY counts.
    pub libc: Option<String>,
    pub elf: Vec<elf::ElfHardening>,
    /// Model artifacts with their SHA-256 and what loading them could run.
    pub models: Vec<models::ModelArtifact>,
    /// Private keys, public keys and certificates found, with their strength.
    pub keys: Vec<keys::KeyObject>,
    /// Packages and well-known binaries with their versions (the SBOM).
    #[serde(default)]
    pub components: Vec<components::Component>,
    /// Known vulnerabilities of those components, from the OSV feed given.
    #[serde(default)]
    pub vulnerabilities: Vec<components::Vulnerability>,
    /// OSV records the components were matched against (`None`: no feed given).
    #[serde(default)]
    pub osv_records: Option<usize>,
    pub findings: Vec<Finding>,
    /// Failed findings per severity.
    pub failures: std::collections::BTreeMap<String, usize>,
}

/// What a scan needs besides its input.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub limits: Limits,
    /// Public keys model signatures are checked against (any one may match).
    pub model_keys: Vec<signing::VerifyingKey>,
    /// The time certificates are judged at (Unix seconds); now when `None`.
    pub now: Option<i64>,
    /// OSV records to match components against; `None`: vulnerabilities not checked.
    pub osv: Option<Vec<serde_json::Value>>,
}

/// Scan `input`, extracting into `work` when it is not a folder.
pub fn scan(input: &Path, work: &Path, limits: Limits) -> Result<SecurityReport, UnpackError> {
    scan_with(input, work, &ScanOptions { limits, ..Default::default() })
}

/// [`scan`] with model-signing keys and a fixed clock.
pub fn scan_with(input: &Path, work: &Path, options: &ScanOptions) -> Result<SecurityReport, UnpackError> {
    let (tree, coverage) = unpack::open(input, work, options.limits)?;
    let libc = elf::image_libc_chk(&tree);
    let chk = libc.as_ref().map(|(_, c)| c);
    let now = options.now.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0));
    // One read per file: ELF hardening, embedded keys, model artifacts.
    let mut hardening = Vec::new();
    let mut key_objects = Vec::new();
    let mut model_artifacts = Vec::new();
    let mut model_findings = Vec::new();
    let mut signatures = std::collections::HashMap::new();
    for e in tree.files() {
        let Some(bytes) = e.content.as_ref().and_then(|c| std::fs::read(c).ok()) else { continue };
        if e.size >= 52 && bytes.starts_with(b"\x7fELF") {
            hardening.extend(elf::analyse(&e.path, &bytes, chk));
        }
        keys::inventory_file(&e.path, &bytes, &mut key_objects);
        if let Some(format) = models::detect(&e.path, &bytes[..bytes.len().min(32)]) {
            let mut a = models::examine(&e.path, format, &bytes);
            model_findings.extend(models::findings(&a));
            if models::is_model(&e.path, format) {
                a.signature = model_signature(&tree, &e.path, &options.model_keys, &mut signatures);
                model_findings.extend(signature_findings(&a));
            }
            model_artifacts.push(a);
        }
    }
    hardening.sort_by(|a, b| a.path.cmp(&b.path));
    let mut findings = elf_findings(&hardening);
    findings.extend(credentials::check(&tree));
    findings.extend(mode_findings(&tree));
    findings.extend(surface::check(&tree));
    findings.extend(keys::findings(&key_objects, &tree, now));
    let component_list = components::inventory(&tree);
    let vulnerabilities = match &options.osv {
        Some(records) => {
            let v = components::match_osv(&component_list, records);
            findings.extend(components::findings(&component_list, &v));
            v
        }
        None => {
            findings.push(Finding::not_checked("AITE-VULN-KNOWN", format!("{} components inventoried; no OSV feed given (--osv), vulnerabilities not checked", component_list.len())));
            vec![]
        }
    };
    findings.extend(model_findings);
    if coverage.containers.iter().any(|c| c.status != "extracted") || !coverage.skipped.is_empty() {
        let parts: Vec<String> = coverage.containers.iter().filter(|c| c.status != "extracted").map(|c| format!("{} at offset {}: {}", c.format, c.offset, c.status)).collect();
        findings.push(Finding::fail(
            "AITE-UNPACK-INCOMPLETE",
            "",
            format!("{} container(s) not examined{}; {} entries skipped", parts.len(), if parts.is_empty() { String::new() } else { format!(" ({})", parts.join("; ")) }, coverage.skipped.len()),
        ));
    }
    // Passes: every rule that ran and found nothing.
    for r in RULES {
        if !findings.iter().any(|f| f.rule == r.id) {
            findings.push(Finding::pass(r.id, format!("checked: no {}", r.title)));
        }
    }
    let mut failures = std::collections::BTreeMap::new();
    for f in findings.iter().filter(|f| f.failed()) {
        *failures.entry(serde_json::to_value(f.severity).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()).or_insert(0) += 1;
    }
    Ok(SecurityReport { coverage, libc: libc.map(|(p, _)| p), elf: hardening, models: model_artifacts, keys: key_objects, components: component_list, vulnerabilities, osv_records: options.osv.as_ref().map(Vec::len), findings, failures })
}

/// Find and check the signature of the model at `path`: `<path>.sig` (the file
/// alone) or `model.sig` in its folder (the folder).
/// `checked` remembers bundles already verified: a folder signature covers every
/// model in the folder and is checked once.
fn model_signature(tree: &tree::Tree, path: &str, keys: &[signing::VerifyingKey], checked: &mut std::collections::HashMap<String, signing::Verification>) -> Option<models::SignatureCheck> {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let folder_sig = if dir.is_empty() { signing::DEFAULT_SIGNATURE_NAME.to_string() } else { format!("{dir}/{}", signing::DEFAULT_SIGNATURE_NAME) };
    let file_sig = format!("{path}.sig");
    // (bundle, subject name, files with their names relative to the signed root)
    let (bundle, name, files): (String, &str, Vec<(String, std::path::PathBuf)>) = if tree.get(&file_sig).is_some_and(|e| e.is_file()) {
        (file_sig, file, tree.get(path).and_then(|e| e.content.clone()).map(|c| vec![(".".to_string(), c)]).unwrap_or_default())
    } else if tree.get(&folder_sig).is_some_and(|e| e.is_file()) {
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        let files = tree.files().filter(|e| e.path.starts_with(&prefix) && e.path != folder_sig).filter_map(|e| Some((e.path[prefix.len()..].to_string(), e.content.clone()?))).collect();
        (folder_sig, dir.rsplit('/').next().unwrap_or(dir), files)
    } else {
        return None;
    };
    if let Some(v) = checked.get(&bundle) {
        return Some(models::SignatureCheck { bundle, verification: v.clone() });
    }
    let bytes = tree.read(&bundle)?;
    let check = |key: Option<&signing::VerifyingKey>| {
        signing::verify_bundle(std::path::Path::new(&bundle), &bytes, key, &[], |ignore| signing::manifest_of_files(name, &files, ignore)).unwrap_or_else(|e| signing::Verification {
            status: signing::SignatureStatus::Malformed,
            key_source: String::new(),
            algorithm: None,
            signed_files: 0,
            changed: vec![],
            missing: vec![],
            unsigned: vec![],
            message: e.to_string(),
        })
    };
    let verification = if keys.is_empty() {
        check(None)
    } else {
        // The first key whose signature verifies decides; otherwise the last failure.
        let mut last = None;
        for k in keys {
            let v = check(Some(k));
            let decided = v.status != signing::SignatureStatus::BadSignature;
            last = Some(v);
            if decided {
                break;
            }
        }
        last?
    };
    checked.insert(bundle.clone(), verification.clone());
    Some(models::SignatureCheck { bundle, verification })
}

fn signature_findings(a: &models::ModelArtifact) -> Vec<Finding> {
    use signing::SignatureStatus as S;
    match &a.signature {
        None => vec![Finding::fail("AITE-MODEL-UNSIGNED", &a.path, format!("{} has no OpenSSF Model Signing signature (no {}.sig or {} beside it)", a.path, a.path.rsplit('/').next().unwrap_or(&a.path), signing::DEFAULT_SIGNATURE_NAME))],
        Some(s) => match s.verification.status {
            S::Verified => vec![],
            S::NoKey => vec![Finding::fail("AITE-MODEL-SIGNATURE-UNVERIFIED", &a.path, format!("{} is signed ({}) but no public key was given to check it (--model-key)", a.path, s.bundle))],
            _ => vec![Finding::fail("AITE-MODEL-SIGNATURE-INVALID", &a.path, format!("{}: signature {} does not hold: {}", a.path, s.bundle, s.verification.message))
                .with_excerpt(None, format!("changed {:?}, missing {:?}, not signed {:?}", s.verification.changed, s.verification.missing, s.verification.unsigned))],
        },
    }
}

fn elf_findings(all: &[elf::ElfHardening]) -> Vec<Finding> {
    use elf::{Pie, Relro};
    let mut out = Vec::new();
    for h in all {
        if h.pie == Pie::Rel {
            continue; // object files and kernel modules: checksec's columns do not apply
        }
        let executable = matches!(h.pie, Pie::Yes | Pie::No);
        if !h.nx {
            out.push(Finding::fail("AITE-ELF-NX", &h.path, format!("{} ({}) has an executable stack", h.path, h.machine)));
        }
        if executable && !h.canary {
            out.push(Finding::fail("AITE-ELF-CANARY", &h.path, format!("{} has no stack canary", h.path)));
        }
        if h.pie == Pie::No {
            out.push(Finding::fail("AITE-ELF-PIE", &h.path, format!("{} is not position-independent{}", h.path, if h.static_binary { " (static)" } else { "" })));
        }
        if h.relro != Relro::Full && !h.static_binary {
            out.push(Finding::fail("AITE-ELF-RELRO", &h.path, format!("{} has {} RELRO", h.path, if h.relro == Relro::Partial { "partial" } else { "no" })));
        }
        if h.fortifiable.is_some_and(|n| n > 0) && !h.fortify {
            out.push(Finding::fail("AITE-ELF-FORTIFY", &h.path, format!("{} calls {} functions the libc offers checked variants of, none fortified", h.path, h.fortifiable.unwrap_or(0))));
        }
        if !h.rpath.is_empty() || !h.runpath.is_empty() {
            out.push(Finding::fail("AITE-ELF-RPATH", &h.path, format!("{} sets RPATH {:?} RUNPATH {:?}", h.path, h.rpath, h.runpath)));
        }
    }
    out
}

fn mode_findings(tree: &tree::Tree) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in tree.files() {
        if e.setuid() || e.setgid() {
            let what = if e.setuid() { "setuid" } else { "setgid" };
            out.push(Finding::fail("AITE-FS-SETUID", &e.path, format!("{} is {what} (owner uid {}, mode {:o})", e.path, e.uid, e.mode)));
        }
        if e.world_writable() {
            out.push(Finding::fail("AITE-FS-WORLD-WRITABLE", &e.path, format!("{} is writable by everyone (mode {:o})", e.path, e.mode)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signed, tampered and unsigned models inside one root filesystem.
    #[test]
    fn model_signatures_in_an_image_are_checked() {
        let root = tempfile::tempdir().unwrap();
        let put = |rel: &str, bytes: &[u8]| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        };
        put("opt/models/det/model.onnx", b"detector weights");
        put("opt/models/det/labels.txt", b"person\ncar\n");
        put("opt/models/cls.tflite", b"TFL3 classifier");
        put("opt/models/old.onnx", b"unsigned");
        let key = signing::SigningKey::generate_ed25519();
        let folder = signing::sign(&root.path().join("opt/models/det"), &key, &[]).unwrap();
        put("opt/models/det/model.sig", &serde_json::to_vec(&folder).unwrap());
        let single = signing::sign(&root.path().join("opt/models/cls.tflite"), &key, &[]).unwrap();
        put("opt/models/cls.tflite.sig", &serde_json::to_vec(&single).unwrap());
        put("opt/models/cls.tflite", b"TFL3 classifier, patched");
        let work = root.path().join("work");
        let fails = |opts: &ScanOptions| -> Vec<(String, String)> {
            let r = scan_with(&root.path().join("opt"), &work, opts).unwrap();
            let mut v: Vec<(String, String)> = r.findings.iter().filter(|f| f.failed() && f.rule.contains("SIGN")).map(|f| (f.rule.clone(), f.path.clone())).collect();
            v.sort();
            v
        };
        let with_key = ScanOptions { model_keys: vec![signing::SigningKey::generate_ed25519().verifying_key(), key.verifying_key()], ..Default::default() };
        assert_eq!(
            fails(&with_key),
            [
                ("AITE-MODEL-SIGNATURE-INVALID".to_string(), "models/cls.tflite".to_string()),
                ("AITE-MODEL-UNSIGNED".to_string(), "models/old.onnx".to_string()),
            ]
        );
        let r = scan_with(&root.path().join("opt"), &work, &with_key).unwrap();
        let det = r.models.iter().find(|m| m.path == "models/det/model.onnx").unwrap();
        assert_eq!(det.signature.as_ref().unwrap().verification.signed_files, 2);
        let cls = r.findings.iter().find(|f| f.rule == "AITE-MODEL-SIGNATURE-INVALID").unwrap();
        assert!(cls.excerpt.as_deref().unwrap().contains("changed [\".\"]"), "{cls:?}");
        // Without keys, the intact signature is reported as not checked.
        let no_key = fails(&ScanOptions::default());
        assert!(no_key.contains(&("AITE-MODEL-SIGNATURE-UNVERIFIED".to_string(), "models/det/model.onnx".to_string())), "{no_key:?}");
    }
}
