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
//! clauses, and records what it examined in an [`examined::Ledger`]; each rule
//! is then decided from both: pass only when subjects were examined on a
//! complete scan, otherwise fail, not applicable (nothing to examine) or not
//! checked (present but not opened, or the scan is incomplete). [`sarif`]
//! writes them as SARIF 2.1.0.

pub mod components;
pub mod credentials;
pub mod elf;
pub mod examined;
pub mod finding;
pub mod keys;
pub mod models;
pub mod reference;
pub mod sarif;
pub mod signing;
pub mod surface;
pub mod tree;
pub mod unpack;

pub use examined::{Ledger, NotCheckedCause, RuleOutcome};
pub use finding::{Finding, RuleStatus, Severity, RULES};
pub use unpack::{Coverage, Limits, UnpackError};

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Everything the static security scan found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityReport {
    pub coverage: Coverage,
    /// Why the scan did not cover the whole input: every container, entry and
    /// byte region not examined, with its cause. Empty: the scan is complete.
    #[serde(default)]
    pub gaps: Vec<String>,
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
    /// Feed given, vulnerabilities matched, their highest CVSS base score and how many are unscored (`None`: an older scan).
    #[serde(default)]
    pub vulnerability_summary: Option<components::VulnerabilitySummary>,
    /// Every rule's conclusion and the subjects it stands on.
    #[serde(default)]
    pub rules: Vec<RuleOutcome>,
    /// Failing findings, then one record per rule that did not fail (its conclusion).
    pub findings: Vec<Finding>,
    /// Failed findings per severity.
    pub failures: std::collections::BTreeMap<String, usize>,
}

impl SecurityReport {
    /// Whether every byte, container and entry of the input was examined.
    pub fn complete(&self) -> bool {
        self.gaps.is_empty()
    }

    /// The conclusion of `rule`, if the scan decided it.
    pub fn status(&self, rule: &str) -> Option<RuleStatus> {
        self.rules.iter().find(|r| r.rule == rule).map(|r| r.status)
    }
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

const ELF_RULES: &[&str] = &["AITE-ELF-NX", "AITE-ELF-CANARY", "AITE-ELF-PIE", "AITE-ELF-RELRO", "AITE-ELF-FORTIFY", "AITE-ELF-RPATH"];
const KEY_FILE_RULES: &[&str] = &["AITE-KEY-PRIVATE", "AITE-KEY-PRIVATE-ENCRYPTED"];
const FILE_RULES: &[&str] = &["AITE-KEY-PRIVATE", "AITE-KEY-PRIVATE-ENCRYPTED", "AITE-PARSER-CRASH"];

/// Every container, skipped entry and unclaimed region of `c`, with its cause.
/// A symlink noted for pointing outside the image but recorded in `tree` was
/// examined as what it is and is no gap.
pub fn coverage_gaps(c: &Coverage, tree: &tree::Tree) -> Vec<String> {
    let mut gaps = Vec::new();
    for k in c.containers.iter().filter(|k| !k.status.is_extracted()) {
        gaps.push(format!("{} at offset {}{}: {}", k.format, k.offset, k.length.map(|l| format!(" ({l} bytes)")).unwrap_or_default(), k.status));
    }
    for s in c.skipped.iter().filter(|s| !tree.get(&s.path).is_some_and(|e| matches!(e.kind, tree::EntryKind::Symlink { .. }))) {
        gaps.push(format!("entry {}: {}", s.path, s.reason));
    }
    if c.skipped_unlisted > 0 {
        gaps.push(format!("{} more skipped entries (not listed)", c.skipped_unlisted));
    }
    for l in &c.limits_hit {
        gaps.push(format!("limit {:?} ({}) reached {} time(s), first at {}", l.limit, l.value, l.times, l.first));
    }
    for r in &c.unclaimed {
        gaps.push(format!("{} bytes at offset {} in no known format", r.length, r.offset));
    }
    for r in &c.stream_unclaimed {
        gaps.push(format!("{} bytes at offset {} of the decompressed {} stream at input offset {} in no known format", r.length, r.offset, r.stream, r.stream_offset));
    }
    if c.unclaimed.is_empty() && c.unclaimed_bytes > 0 {
        gaps.push(format!("{} bytes in no known format", c.unclaimed_bytes));
    }
    gaps
}

/// Remove the unclaimed ranges of `input` that are erased flash or alignment
/// padding (nothing but 0x00 and 0xFF bytes, as mksquashfs's 4 KiB alignment
/// followed by unwritten NOR/NAND pages is) and return how many bytes they held.
fn drop_padding(input: &Path, unclaimed: &mut Vec<unpack::ByteRange>) -> u64 {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(input) else { return 0 };
    let mut padding = 0;
    unclaimed.retain(|r| {
        let mut buf = vec![0u8; 1 << 16];
        let (mut left, mut pad) = (r.length, true);
        if f.seek(SeekFrom::Start(r.offset)).is_err() {
            return true;
        }
        while left > 0 && pad {
            let n = left.min(buf.len() as u64) as usize;
            if f.read_exact(&mut buf[..n]).is_err() {
                return true;
            }
            pad &= buf[..n].iter().all(|&b| b == 0 || b == 0xff);
            left -= n as u64;
        }
        if pad {
            padding += r.length;
        }
        !pad
    });
    padding
}

/// [`scan`] with model-signing keys and a fixed clock.
pub fn scan_with(input: &Path, work: &Path, options: &ScanOptions) -> Result<SecurityReport, UnpackError> {
    let (tree, mut coverage) = unpack::open(input, work, options.limits)?;
    coverage.padding_bytes = drop_padding(input, &mut coverage.unclaimed);
    coverage.unclaimed_bytes = coverage.unclaimed.iter().map(|r| r.length).sum();
    let gaps = coverage_gaps(&coverage, &tree);
    let libc = elf::image_libc_chk(&tree);
    let chk = libc.as_ref().map(|(_, c)| c);
    let now = options.now.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0));
    let mut ledger = Ledger::default();
    let mut findings = Vec::new();
    // One read per file: ELF hardening, embedded keys, model artifacts.
    let mut hardening = Vec::new();
    let mut key_objects = Vec::new();
    let mut model_artifacts = Vec::new();
    let mut model_findings = Vec::new();
    let mut signatures = std::collections::HashMap::new();
    let crash = |findings: &mut Vec<Finding>, ledger: &mut Ledger, path: &str, parser: &str, rules: &[&str], why: &str| {
        findings.push(Finding::fail("AITE-PARSER-CRASH", path, format!("the {parser} crashed on {path}: {why}")).about(parser));
        ledger.not_examined(rules, path, format!("the {parser} crashed: {why}"));
    };
    for e in tree.files() {
        let read = e.content.as_ref().ok_or_else(|| "contents were not extracted".to_string()).and_then(|c| std::fs::read(c).map_err(|err| format!("cannot read its extracted copy: {err}")));
        let bytes = match read {
            Ok(b) => b,
            Err(why) => {
                ledger.not_examined(FILE_RULES, &e.path, why.clone());
                // A model by its name alone (the contents are what could not be read).
                if let Some(format) = models::detect(&e.path, &[]) {
                    ledger.not_examined(models::content_rules(format), &e.path, why.clone());
                    ledger.not_examined(&["AITE-MODEL-UNSCANNABLE"], &e.path, why);
                }
                continue;
            }
        };
        ledger.examined(&["AITE-PARSER-CRASH"], &e.path);
        if bytes.starts_with(b"\x7fELF") {
            match unpack::guard::contained(|| elf::analyse(&e.path, &bytes, chk)) {
                Ok(Some(h)) => hardening.push(h),
                Ok(None) => ledger.not_examined(ELF_RULES, &e.path, "starts with the ELF magic but its headers do not parse"),
                Err(why) => crash(&mut findings, &mut ledger, &e.path, "ELF parser", ELF_RULES, &why),
            }
        }
        if bytes.len() as u64 > keys::MAX_SEARCH_BYTES {
            ledger.not_examined(KEY_FILE_RULES, &e.path, format!("{} bytes, above the key-search limit of {} bytes: not searched for keys", bytes.len(), keys::MAX_SEARCH_BYTES));
        } else {
            let mut found = Vec::new();
            match unpack::guard::contained(std::panic::AssertUnwindSafe(|| keys::inventory_file(&e.path, &bytes, &mut found))) {
                Ok(()) => {
                    ledger.examined(KEY_FILE_RULES, &e.path);
                    key_objects.extend(found);
                }
                Err(why) => crash(&mut findings, &mut ledger, &e.path, "key and certificate parser", KEY_FILE_RULES, &why),
            }
        }
        if let Some(format) = models::detect(&e.path, &bytes[..bytes.len().min(32)]) {
            let content = models::content_rules(format);
            match unpack::guard::contained(|| models::examine(&e.path, format, &bytes)) {
                Ok(mut a) => {
                    ledger.examined(&["AITE-MODEL-UNSCANNABLE"], &e.path);
                    if a.unscanned.is_empty() {
                        ledger.examined(content, &a.subject());
                        a.not_examined().into_iter().for_each(|(rule, why)| ledger.not_examined(&[rule], &e.path, why));
                    } else {
                        ledger.not_examined(content, &e.path, a.unscanned.join("; "));
                    }
                    model_findings.extend(models::findings(&a));
                    if models::is_model(&e.path, format) {
                        ledger.examined(&["AITE-MODEL-UNSIGNED"], &e.path);
                        a.signature = model_signature(&tree, &e.path, &options.model_keys, &mut signatures);
                        if a.signature.is_some() {
                            ledger.examined(&["AITE-MODEL-SIGNATURE-UNVERIFIED"], &e.path);
                            // Whether the files still match the release is only known against a key the user trusts.
                            if options.model_keys.is_empty() {
                                ledger.not_examined(&["AITE-MODEL-SIGNATURE-INVALID"], &e.path, "no trusted key given (--model-key): the signature was not checked against the release key");
                            } else {
                                ledger.examined(&["AITE-MODEL-SIGNATURE-INVALID"], &e.path);
                            }
                        }
                        model_findings.extend(signature_findings(&a));
                    }
                    model_artifacts.push(a);
                }
                Err(why) => {
                    let mut rules = content.to_vec();
                    rules.push("AITE-MODEL-UNSCANNABLE");
                    crash(&mut findings, &mut ledger, &e.path, "model parser", &rules, &why);
                }
            }
        }
    }
    hardening.sort_by(|a, b| a.path.cmp(&b.path));
    findings.extend(elf_findings(&hardening, &mut ledger, libc.is_some()));
    findings.extend(credentials::check(&tree, &mut ledger));
    findings.extend(mode_findings(&tree, &mut ledger));
    findings.extend(surface::check(&tree, &mut ledger));
    findings.extend(keys::findings(&key_objects, &tree, now, &mut ledger));
    let component_list = components::inventory(&tree);
    for c in &component_list {
        ledger.examined(&["AITE-VULN-KNOWN"], &c.purl);
    }
    let vulnerabilities = match &options.osv {
        Some(records) => {
            if records.is_empty() {
                ledger.not_checked("AITE-VULN-KNOWN", "the OSV feed given holds no records: vulnerabilities not checked");
            }
            let v = components::match_osv(&component_list, records);
            findings.extend(components::findings(&component_list, &v));
            ledger.not_applicable_because("AITE-VULN-KNOWN", "no package database or known version string in the image: no component to match against the OSV feed");
            v
        }
        None => {
            ledger.not_checked("AITE-VULN-KNOWN", format!("{} components inventoried; no OSV feed given (--osv), vulnerabilities not checked", component_list.len()));
            vec![]
        }
    };
    findings.extend(model_findings);
    for k in &coverage.containers {
        ledger.examined(&["AITE-UNPACK-INCOMPLETE"], &format!("{}@{}", k.format, k.offset));
    }
    if !gaps.is_empty() {
        findings.push(Finding::fail("AITE-UNPACK-INCOMPLETE", "", format!("{} part(s) of the input not examined: {}", gaps.len(), gaps.join("; "))));
    }
    let incomplete = (!gaps.is_empty()).then(|| format!("{} part(s) of the input not examined", gaps.len()));
    let rules = ledger.outcomes(&findings, incomplete.as_deref());
    // One record per rule that did not fail, so SARIF and results.json say what was concluded.
    for r in rules.iter().filter(|r| r.status != RuleStatus::Fail) {
        findings.push(Finding::outcome(&r.rule, r.status, r.reason.clone()));
    }
    let mut failures = std::collections::BTreeMap::new();
    for f in findings.iter().filter(|f| f.failed()) {
        *failures.entry(serde_json::to_value(f.severity).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()).or_insert(0) += 1;
    }
    let vulnerability_summary = Some(components::summary(component_list.len(), options.osv.as_ref().map(Vec::len), &vulnerabilities));
    Ok(SecurityReport { coverage, gaps, libc: libc.map(|(p, _)| p), elf: hardening, models: model_artifacts, keys: key_objects, components: component_list, vulnerabilities, osv_records: options.osv.as_ref().map(Vec::len), vulnerability_summary, rules, findings, failures })
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
            S::SignerUnverified => vec![Finding::fail("AITE-MODEL-SIGNATURE-UNVERIFIED", &a.path, format!("{}: signature present ({}), signer not verified: it holds only for the certificate inside the bundle; give the trusted key or certificate (--model-key)", a.path, s.bundle))],
            _ => vec![Finding::fail("AITE-MODEL-SIGNATURE-INVALID", &a.path, format!("{}: signature {} does not hold: {}", a.path, s.bundle, s.verification.message))
                .with_excerpt(format!("changed {:?}, missing {:?}, not signed {:?}", s.verification.changed, s.verification.missing, s.verification.unsigned))],
        },
    }
}

fn elf_findings(all: &[elf::ElfHardening], ledger: &mut Ledger, libc_found: bool) -> Vec<Finding> {
    use elf::{Pie, Relro};
    let mut out = Vec::new();
    for h in all {
        if h.pie == Pie::Rel {
            continue; // object files and kernel modules: checksec's columns do not apply
        }
        let executable = matches!(h.pie, Pie::Yes | Pie::No);
        ledger.examined(&["AITE-ELF-NX", "AITE-ELF-RPATH"], &h.path);
        if executable {
            ledger.examined(&["AITE-ELF-CANARY", "AITE-ELF-PIE"], &h.path);
        }
        if !h.static_binary {
            ledger.examined(&["AITE-ELF-RELRO"], &h.path);
        }
        if h.fortifiable.is_some() {
            ledger.examined(&["AITE-ELF-FORTIFY"], &h.path);
        } else if !libc_found {
            ledger.not_examined(&["AITE-ELF-FORTIFY"], &h.path, "no C library with checked (_chk) functions found in the image to count fortifiable calls against");
        }
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

fn mode_findings(tree: &tree::Tree, ledger: &mut Ledger) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in tree.files() {
        ledger.examined(&["AITE-FS-SETUID", "AITE-FS-WORLD-WRITABLE"], &e.path);
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

    /// A root filesystem folder with `files` ((path, contents); a contents of
    /// `->target` makes a symlink).
    fn rootfs(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (rel, bytes) in files {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            match bytes.strip_prefix(b"->") {
                Some(target) => std::os::unix::fs::symlink(std::str::from_utf8(target).unwrap(), &p).unwrap(),
                None => std::fs::write(&p, bytes).unwrap(),
            }
        }
        root
    }

    fn scan_bytes(bytes: &[u8]) -> SecurityReport {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("image.bin");
        std::fs::write(&input, bytes).unwrap();
        scan(&input, &d.path().join("work"), Limits::default()).unwrap()
    }

    fn passes(r: &SecurityReport) -> Vec<&str> {
        r.rules.iter().filter(|o| o.status == RuleStatus::Pass).map(|o| o.rule.as_str()).collect()
    }

    #[test]
    fn inputs_aite_cannot_open_pass_no_rule() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let random: Vec<u8> = (0..64 << 10).map(|_| rng.gen()).collect();
        // A JFFS2 node magic (0x1985) or a UBI header ("UBI#") in front of random bytes: no valid header CRC, so nothing is read.
        let mut jffs2 = vec![0x85, 0x19, 0x01, 0xe0];
        jffs2.extend(&random[..4096]);
        let mut ubi = b"UBI#".to_vec();
        ubi.extend(&random[..4096]);
        // A squashfs 4 superblock whose tables point nowhere: decompression fails.
        let mut squash = b"hsqs".to_vec();
        squash.resize(96, 0);
        squash[28..30].copy_from_slice(&4u16.to_le_bytes()); // major version
        squash[40..48].copy_from_slice(&4096u64.to_le_bytes()); // bytes_used
        squash.extend(&random[..4000]);
        // A squashfs 3.0 big-endian superblock (vendor magic) whose tables hold random bytes.
        let mut squash3 = b"qshs".to_vec();
        squash3.resize(119, 0);
        squash3[28..30].copy_from_slice(&3u16.to_be_bytes());
        squash3[34..36].copy_from_slice(&16u16.to_be_bytes());
        squash3[51..55].copy_from_slice(&65536u32.to_be_bytes());
        for (at, v) in [(63, 4096u64), (71, 2000), (87, 200), (95, 1000)] {
            squash3[at..at + 8].copy_from_slice(&v.to_be_bytes());
        }
        squash3.extend(&random[..4000]);
        for (name, bytes) in [("random", &random), ("jffs2", &jffs2), ("ubi", &ubi), ("squashfs", &squash), ("squashfs 3.0", &squash3)] {
            let r = scan_bytes(bytes);
            assert!(!r.complete(), "{name}: {:?}", r.coverage);
            assert!(passes(&r).is_empty(), "{name}: passes {:?}", passes(&r));
            assert_eq!(r.status("AITE-UNPACK-INCOMPLETE"), Some(RuleStatus::Fail), "{name}");
            let f = r.findings.iter().find(|f| f.rule == "AITE-UNPACK-INCOMPLETE" && f.failed()).unwrap();
            assert!(f.severity >= Severity::High, "{name}");
            assert!(!r.gaps.is_empty());
            for g in &r.gaps {
                assert!(!g.trim_end().ends_with(':') && !g.contains(": ;") && !g.contains("failed: )"), "{name}: gap without a cause: {g}");
            }
            assert_eq!(r.rules.len(), RULES.len());
        }
    }

    #[test]
    fn zero_and_erased_flash_padding_is_no_gap() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("dump.bin");
        let mut bytes = vec![0u8; 5000];
        bytes.extend(vec![0xffu8; 70_000]);
        bytes.extend(b"vendor config blob");
        std::fs::write(&input, &bytes).unwrap();
        let r = |offset: u64, length: u64| unpack::ByteRange { offset, length };
        let mut unclaimed = vec![r(0, 5000), r(5000, 70_000), r(4990, 20), r(74_990, 20), r(75_000, 18)];
        assert_eq!(drop_padding(&input, &mut unclaimed), 75_020);
        assert_eq!(unclaimed, [r(74_990, 20), r(75_000, 18)], "ranges holding data stay gaps");
    }

    #[test]
    fn nothing_to_examine_is_not_applicable_and_subjects_are_counted() {
        let d = rootfs(&[("opt/app/readme.txt", b"hello")]);
        let r = scan_with(d.path(), &d.path().join("work"), &ScanOptions::default()).unwrap();
        assert!(r.complete(), "{:?}", r.gaps);
        let o = |id: &str| r.rules.iter().find(|o| o.rule == id).unwrap().clone();
        assert_eq!(o("AITE-CRED-EMPTY").status, RuleStatus::NotApplicable);
        assert!(o("AITE-CRED-EMPTY").reason.contains("/etc/passwd"), "{:?}", o("AITE-CRED-EMPTY"));
        assert_eq!(o("AITE-ELF-NX").status, RuleStatus::NotApplicable);
        assert_eq!(o("AITE-SURFACE-SSH-ROOT-PASSWORD").status, RuleStatus::NotApplicable);
        assert_eq!(o("AITE-VULN-KNOWN").status, RuleStatus::NotChecked, "no feed given");
        // One file examined for modes and keys: those rules pass, on that subject.
        assert_eq!((o("AITE-FS-SETUID").status, o("AITE-FS-SETUID").examined), (RuleStatus::Pass, 1));
        assert_eq!(o("AITE-FS-SETUID").subjects, ["opt/app/readme.txt"]);
        assert_eq!(o("AITE-KEY-PRIVATE").status, RuleStatus::Pass);
    }

    /// A release diff follows a finding by rule, path and key: two accounts failing one rule in
    /// one file carry their names as keys, a once-per-file rule none, and results.json writes the
    /// field even when it is null (an absent field means an aite that did not record keys).
    #[test]
    fn findings_on_one_file_are_told_apart_by_their_key() {
        let md5 = |pw: &str| pwhash::md5_crypt::hash_with("$1$abcdefgh$", pw).unwrap();
        let shadow = format!("root:{}:19000::::::\nadmin:{}:19000::::::\n", md5("xc3511"), md5("admin"));
        let d = rootfs(&[("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\n"), ("etc/shadow", shadow.as_bytes()), ("etc/inittab", b"::sysinit:/etc/init.d/rcS\n")]);
        let r = scan_with(d.path(), &d.path().join("work"), &ScanOptions::default()).unwrap();
        let keys = |rule: &str| r.findings.iter().filter(|f| f.rule == rule && f.failed()).map(|f| (f.path.as_str(), f.key.as_deref())).collect::<Vec<_>>();
        assert_eq!(keys("AITE-CRED-DEFAULT"), [("etc/shadow", Some("root")), ("etc/shadow", Some("admin"))]);
        assert_eq!(keys("AITE-CRED-WEAK-HASH"), [("etc/shadow", Some("root")), ("etc/shadow", Some("admin"))]);
        let json = serde_json::to_value(Finding::fail("AITE-ELF-NX", "bin/app", "executable stack")).unwrap();
        assert_eq!(json.get("key"), Some(&serde_json::Value::Null), "{json}");
    }

    #[test]
    fn account_databases_outside_the_image_are_not_checked() {
        let d = rootfs(&[("etc/passwd", b"->/var/passwd"), ("etc/shadow", b"->/tmp/shadow"), ("etc/inittab", b"::sysinit:/etc/init.d/rcS\n")]);
        let r = scan_with(d.path(), &d.path().join("work"), &ScanOptions::default()).unwrap();
        for id in ["AITE-CRED-EMPTY", "AITE-CRED-DEFAULT", "AITE-CRED-UID0"] {
            let o = r.rules.iter().find(|o| o.rule == id).unwrap();
            assert_eq!(o.status, RuleStatus::NotChecked, "{o:?}");
            assert!(o.reason.contains("outside the image"), "{o:?}");
        }
    }

    /// Leftover of issue 9: an /etc/passwd present but unreadable as accounts said
    /// "no /etc/passwd in the image" (not applicable).
    #[test]
    fn an_unparsable_account_database_is_not_checked_never_not_applicable() {
        let garbage: &[u8] = b"\xfa\xaf\xbcjohndoe:$6$HcGU0JUp$Lb\xcc\xbb\xaamax:$apr1$nMebU24m$ofpV\xcf";
        for (name, passwd) in [("binary", garbage), ("empty", b"".as_slice()), ("comments only", b"# accounts come from LDAP\n\n")] {
            let d = rootfs(&[("etc/passwd", passwd), ("etc/inittab", b"::sysinit:/etc/init.d/rcS\n")]);
            let r = scan_with(d.path(), &d.path().join("work"), &ScanOptions::default()).unwrap();
            for id in ["AITE-CRED-EMPTY", "AITE-CRED-DEFAULT", "AITE-CRED-WEAK-HASH", "AITE-CRED-UID0", "AITE-CRED-HASH-IN-PASSWD"] {
                let o = r.rules.iter().find(|o| o.rule == id).unwrap();
                assert_eq!(o.status, RuleStatus::NotChecked, "{name}: {o:?}");
                assert!(o.reason.contains("cannot parse /etc/passwd"), "{name}: {o:?}");
            }
        }
        // One good line and one that is not an account: the good one is examined, the rule is still not checked.
        let d = rootfs(&[("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nthis is not an account\n"), ("etc/shadow", b"root:!:19000::::::\n")]);
        let r = scan_with(d.path(), &d.path().join("work"), &ScanOptions::default()).unwrap();
        let o = r.rules.iter().find(|o| o.rule == "AITE-CRED-UID0").unwrap();
        assert_eq!((o.status, o.examined, o.not_examined_count), (RuleStatus::NotChecked, 1, 1), "{o:?}");
        assert_eq!(o.not_examined[0].subject, "etc/passwd:line 2");
        assert!(o.not_examined[0].cause.starts_with("cannot parse /etc/passwd line 2: expected name:password:UID:GID:…, found 1 field(s)"), "{o:?}");
        // A shadow line without a `name:` field is an account aite did not read either.
        let d = rootfs(&[("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"), ("etc/shadow", b"root:!:19000::::::\n\x00\x01garbage\n")]);
        let r = scan_with(d.path(), &d.path().join("work"), &ScanOptions::default()).unwrap();
        let o = r.rules.iter().find(|o| o.rule == "AITE-CRED-EMPTY").unwrap();
        assert_eq!(o.status, RuleStatus::NotChecked, "{o:?}");
        assert!(o.reason.contains("cannot parse /etc/shadow line 2"), "{o:?}");
        assert_eq!(r.status("AITE-CRED-UID0"), Some(RuleStatus::Pass), "passwd itself was read whole");
    }

    /// A `{SHA}` line in a web password file is a hash aite does not verify, not a
    /// password stored in plain text.
    #[test]
    fn htpasswd_sha1_is_not_checked_not_plain_text() {
        let d = rootfs(&[("www/.htpasswd", b"admin:{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc=\n")]);
        let r = scan_with(d.path(), &d.path().join("work"), &ScanOptions::default()).unwrap();
        assert!(r.findings.iter().all(|f| !(f.failed() && f.rule.starts_with("AITE-CRED-"))), "{:?}", r.findings);
        let o = r.rules.iter().find(|o| o.rule == "AITE-CRED-DEFAULT").unwrap();
        assert_eq!((o.status, o.not_examined[0].subject.as_str()), (RuleStatus::NotChecked, "www/.htpasswd:admin"), "{o:?}");
        assert!(o.not_examined[0].cause.contains("htpasswd-sha1"), "{o:?}");
    }

    #[test]
    fn unverifiable_hashes_leave_the_default_password_rule_not_checked() {
        let d = rootfs(&[
            ("etc/passwd", b"root:x:0:0::/root:/bin/sh\nops:x:1000:1000::/home/ops:/bin/sh\n"),
            // root: SHA-512-crypt of a non-default password (`openssl passwd -6 -salt aiteref 'a unique per-device secret 4f1c'`); ops: gost-yescrypt.
            ("etc/shadow", b"root:$6$aiteref$a/8HutaNaO5zNUDtsehvNTDLdllHCgdfvVadT.zPsd0A3v/gY0vjti7FuvDc.8WQSkHVKmbSh1xuWqgpzaXfw/:19000:0:99999:7:::\nops:$gy$j9T$salt$hash:19000:0:99999:7:::\n"),
        ]);
        let r = scan_with(d.path(), &d.path().join("work"), &ScanOptions::default()).unwrap();
        let o = r.rules.iter().find(|o| o.rule == "AITE-CRED-DEFAULT").unwrap();
        assert_eq!(o.status, RuleStatus::NotChecked, "{o:?}");
        assert_eq!(o.not_examined[0].subject, "etc/shadow:ops");
        assert!(o.subjects.contains(&"etc/shadow:root".to_string()), "{o:?}");
        // Empty-password and weak-hash rules did examine both accounts.
        assert_eq!(r.status("AITE-CRED-EMPTY"), Some(RuleStatus::Pass));
    }

    #[test]
    fn files_above_the_key_search_limit_are_reported() {
        let d = rootfs(&[("opt/model.bin", b"x")]);
        let big = d.path().join("opt/model.bin");
        std::fs::File::create(&big).unwrap().set_len(keys::MAX_SEARCH_BYTES + 1).unwrap();
        let r = scan_with(d.path(), &d.path().join("work"), &ScanOptions::default()).unwrap();
        let o = r.rules.iter().find(|o| o.rule == "AITE-KEY-PRIVATE").unwrap();
        assert_eq!(o.status, RuleStatus::NotChecked, "{o:?}");
        assert!(o.not_examined[0].cause.contains("key-search limit"), "{o:?}");
    }

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
