//! Reference peer: Debian's `checksec` (2.6.0) on the same ELF files.
//! Verdicts must agree column by column on the FACT_core ground-truth set and
//! on every ELF file of the armcam firmware in ../shared, and on the arm64 and
//! armhf root filesystems `.ci/debian-rootfs.sh` assembles from real Debian
//! packages (AITE_DEBIAN_ROOTFS). A file checksec reads and aite cannot parse
//! is a disagreement. Skips with a message when `checksec`, ../shared or the
//! rootfs is absent, or fails under `AITE_REQUIRE_PEERS=1` (`.ci/run` provides
//! all three and sets it).

use aite_security::elf::image_libc_chk;
use common::{checksec, checksec_available, ours};
use aite_security::unpack::{open, Limits};
use std::path::{Path, PathBuf};

mod common;

#[test]
fn elf_verdicts_agree_with_checksec() {
    let (Some(sec), true) = (common::shared(""), checksec_available()) else { return };
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(sec.join("elf/fact_core")).unwrap().flatten().map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())).collect();
    let work = tempfile::tempdir().unwrap();
    let (tree, _) = open(&sec.join("firmware/armcam/armcam-full.squashfs"), work.path(), Limits::default()).unwrap();
    assert!(image_libc_chk(&tree).is_some(), "armcam has glibc");
    for e in tree.files() {
        if let Some(c) = &e.content {
            if std::fs::read(c).map(|b| b.starts_with(b"\x7fELF")).unwrap_or(false) {
                files.push((e.path.clone(), c.clone()));
            }
        }
    }
    let (elf_files, disagreements) = compare(&files);
    assert!(elf_files >= 60, "FACT_core and armcam hold more than 60 ELF files, got {elf_files}");
    assert!(disagreements.is_empty(), "{} disagreements with checksec", disagreements.len());
}

/// Run checksec and aite on every file; print the agreement and the times;
/// return the ELF file count and the disagreements.
fn compare(files: &[(String, PathBuf)]) -> (usize, Vec<String>) {
    let columns = common::CHECKSEC_COLUMNS;
    let (mut agree, mut total, mut elf_files) = (0usize, 0usize, 0usize);
    let mut disagreements = Vec::new();
    let started = std::time::Instant::now();
    // checksec starts several processes per file: run four files at a time.
    let chunk = files.len().div_ceil(4).max(1);
    let reference: Vec<serde_json::Value> = std::thread::scope(|s| {
        let handles: Vec<_> = files.chunks(chunk).map(|part| s.spawn(move || part.iter().map(|(_, p)| checksec(p)).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let checksec_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let mut mine = Vec::new();
    for (name, path) in files {
        mine.push(ours(name, &std::fs::read(path).unwrap()));
    }
    let aite_seconds = started.elapsed().as_secs_f64();
    for (((name, _), theirs), ours) in files.iter().zip(&reference).zip(&mine) {
        elf_files += 1;
        let Some(ours) = ours else {
            // checksec judged it; aite's silence is not agreement.
            total += columns.len();
            disagreements.push(format!("{name}: aite could not parse it; checksec says {theirs}"));
            continue;
        };
        for c in columns {
            total += 1;
            if theirs[c] == ours[c] {
                agree += 1;
            } else {
                disagreements.push(format!("{name}: {c} checksec={} aite={}", theirs[c], ours[c]));
            }
        }
    }
    eprintln!(
        "checksec agreement: {agree}/{total} verdicts on {elf_files} ELF files ({:.1}%); time checksec {checksec_seconds:.2} s (one process per file, 4 at a time), aite {aite_seconds:.3} s (one thread)",
        100.0 * agree as f64 / total as f64
    );
    for d in &disagreements {
        eprintln!("  {d}");
    }
    (elf_files, disagreements)
}

/// ELF files of a folder, by path relative to it.
fn elf_files_in(root: &Path) -> Vec<(String, PathBuf)> {
    let work = tempfile::tempdir().unwrap();
    let (tree, _) = open(root, work.path(), Limits::default()).unwrap();
    tree.files()
        .filter_map(|e| {
            let c = e.content.clone()?;
            let mut head = [0u8; 4];
            std::io::Read::read_exact(&mut std::fs::File::open(&c).ok()?, &mut head).ok()?;
            (&head == b"\x7fELF").then(|| (e.path.clone(), c))
        })
        .collect()
}

#[test]
fn elf_verdicts_agree_with_checksec_on_debian_arm_rootfs() {
    let Some(dest) = common::debian_rootfs() else { return };
    if !checksec_available() {
        return;
    }
    for arch in ["arm64", "armhf"] {
        let files = elf_files_in(&dest.join(arch).join("rootfs"));
        eprintln!("debian {arch}:");
        let (elf_files, disagreements) = compare(&files);
        assert!(elf_files >= 40, "{arch}: expected dozens of ELF files, got {elf_files}");
        assert!(disagreements.is_empty(), "{arch}: {} disagreements with checksec", disagreements.len());
    }
}
