//! Speed of a whole `aite security` scan of a firmware image against the peers' way to
//! the same ELF verdicts: extract with the format's reference tool (`unsquashfs`,
//! `ubireader_extract_files`, `jefferson`), then `checksec --dir` on the extracted tree.
//!
//! Images: ../shared's armcam-full.squashfs, armcam-mini.squashfs/.ubi/.jffs2, and the
//! arm64 Debian rootfs of `.ci/debian-rootfs.sh` packed by `mksquashfs` (when
//! AITE_DEBIAN_ROOTFS is set). The Python extractors come from AITE_PEER_PYTHON's
//! virtualenv. One run each, on a warm page cache; prints a table of seconds and the
//! ratio (peers / aite). aite's scan does every check, not only ELF hardening.
//!
//! Run: `AITE_PEER_PYTHON=target/peers-venv/bin/python cargo bench -p aite-security --bench images_vs_peers`

use aite_security::{scan, Limits};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// How the peers extract one image into `dir`.
enum Extractor {
    Unsquashfs,
    UbiReader,
    Jefferson,
}

impl Extractor {
    fn command(&self, image: &Path, dir: &Path) -> Option<Command> {
        let bin = |name: &str| -> Option<PathBuf> {
            let py = std::env::var_os("AITE_PEER_PYTHON")?;
            let p = Path::new(&py).parent()?.join(name);
            p.is_file().then_some(p)
        };
        Some(match self {
            Extractor::Unsquashfs => {
                let mut c = Command::new("unsquashfs");
                c.args(["-no-xattrs", "-quiet", "-no-progress", "-d"]).arg(dir).arg(image);
                c
            }
            Extractor::UbiReader => {
                let mut c = Command::new(bin("ubireader_extract_files")?);
                c.arg("-o").arg(dir).arg(image);
                c
            }
            Extractor::Jefferson => {
                let mut c = Command::new(bin("jefferson")?);
                c.arg("-d").arg(dir).arg(image);
                c
            }
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Extractor::Unsquashfs => "unsquashfs",
            Extractor::UbiReader => "ubireader_extract_files",
            Extractor::Jefferson => "jefferson",
        }
    }
}

fn main() {
    let scratch = tempfile::tempdir().unwrap();
    let fw = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/security/firmware/armcam");
    let mut images: Vec<(String, PathBuf, Extractor)> = Vec::new();
    for (file, how) in [
        ("armcam-full.squashfs", Extractor::Unsquashfs),
        ("armcam-mini.squashfs", Extractor::Unsquashfs),
        ("armcam-mini.ubi", Extractor::UbiReader),
        ("armcam-mini.jffs2", Extractor::Jefferson),
    ] {
        let p = fw.join(file);
        if p.is_file() {
            images.push((file.into(), p, how));
        }
    }
    if let Some(d) = std::env::var_os("AITE_DEBIAN_ROOTFS") {
        let root = PathBuf::from(d).join("arm64/rootfs");
        let image = scratch.path().join("debian-arm64.squashfs");
        let made = root.is_dir()
            && Command::new("mksquashfs").arg(&root).arg(&image).args(["-quiet", "-no-progress", "-comp", "xz"]).status().is_ok_and(|s| s.success());
        if made {
            images.push(("debian arm64 rootfs (mksquashfs -comp xz)".into(), image, Extractor::Unsquashfs));
        }
    }
    if images.is_empty() {
        eprintln!("skipping: neither ../shared/assets/security/firmware nor AITE_DEBIAN_ROOTFS is present");
        return;
    }
    println!("| image | aite security (s) | findings | extractor | extract (s) | checksec --dir (s) | peers / aite |");
    println!("|---|---|---|---|---|---|---|");
    for (i, (name, image, how)) in images.iter().enumerate() {
        // Warm the page cache, then measure.
        let _ = std::fs::read(image);
        let started = Instant::now();
        let report = match scan(image, &scratch.path().join(format!("aite{i}")), Limits::default()) {
            Ok(r) => r,
            Err(e) => {
                println!("| {name} | failed: {e} | | | | | |");
                continue;
            }
        };
        let aite = started.elapsed().as_secs_f64();
        let dir = scratch.path().join(format!("peer{i}"));
        let Some(mut extract) = how.command(image, &dir) else {
            println!("| {name} | {aite:.2} | {} | {} not found (set AITE_PEER_PYTHON) | | | |", report.findings.len(), how.name());
            continue;
        };
        let started = Instant::now();
        let ok = extract.output().is_ok_and(|o| o.status.success());
        let extract_s = started.elapsed().as_secs_f64();
        if !ok {
            println!("| {name} | {aite:.2} | {} | {} failed | | | |", report.findings.len(), how.name());
            continue;
        }
        let started = Instant::now();
        let checksec = Command::new("checksec").arg(format!("--dir={}", dir.display())).arg("--output=json").output();
        let checksec_s = started.elapsed().as_secs_f64();
        if checksec.is_err() {
            println!("| {name} | {aite:.2} | {} | {} | {extract_s:.2} | checksec not installed | |", report.findings.len(), how.name());
            continue;
        }
        println!(
            "| {name} | {aite:.2} | {} | {} | {extract_s:.2} | {checksec_s:.2} | {:.1} |",
            report.findings.len(),
            how.name(),
            (extract_s + checksec_s) / aite
        );
    }
}
