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
//! - [`models`]: pickles (opcode walk, allowlist), Keras Lambda layers, ONNX
//!   external data and custom domains, TFLite custom ops, with SHA-256;
//! - file modes: setuid/setgid and world-writable files.
//!
//! Every check produces [`finding::Finding`]s with severity, evidence and
//! clauses; rules that found nothing are recorded as passes. [`sarif`]
//! writes them as SARIF 2.1.0.

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
    pub findings: Vec<Finding>,
    /// Failed findings per severity.
    pub failures: std::collections::BTreeMap<String, usize>,
}

/// Scan `input`, extracting into `work` when it is not a folder.
pub fn scan(input: &Path, work: &Path, limits: Limits) -> Result<SecurityReport, UnpackError> {
    let (tree, coverage) = unpack::open(input, work, limits)?;
    let libc = elf::image_libc_chk(&tree);
    let chk = libc.as_ref().map(|(_, c)| c);
    // ELF files: read and analyse each regular file that starts with the ELF magic.
    let mut hardening: Vec<elf::ElfHardening> = tree
        .files()
        .filter(|e| e.size >= 52)
        .filter_map(|e| {
            let path = e.content.as_ref()?;
            let mut head = [0u8; 4];
            use std::io::Read;
            std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
            if &head != b"\x7fELF" {
                return None;
            }
            let bytes = std::fs::read(path).ok()?;
            elf::analyse(&e.path, &bytes, chk)
        })
        .collect();
    hardening.sort_by(|a, b| a.path.cmp(&b.path));
    let mut findings = elf_findings(&hardening);
    findings.extend(credentials::check(&tree));
    findings.extend(mode_findings(&tree));
    findings.extend(surface::check(&tree));
    let key_objects = keys::inventory(&tree);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    findings.extend(keys::findings(&key_objects, &tree, now));
    let mut model_artifacts = Vec::new();
    for e in tree.files() {
        let Some(path) = &e.content else { continue };
        let mut head = [0u8; 32];
        let n = std::fs::File::open(path).and_then(|mut f| { use std::io::Read; f.read(&mut head) }).unwrap_or(0);
        let Some(format) = models::detect(&e.path, &head[..n]) else { continue };
        let Ok(bytes) = std::fs::read(path) else { continue };
        let a = models::examine(&e.path, format, &bytes);
        findings.extend(models::findings(&a));
        model_artifacts.push(a);
    }
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
    Ok(SecurityReport { coverage, libc: libc.map(|(p, _)| p), elf: hardening, models: model_artifacts, keys: key_objects, findings, failures })
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
