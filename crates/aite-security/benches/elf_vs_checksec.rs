//! Speed of aite's ELF hardening pass against Debian's `checksec --dir` on the
//! same root filesystem (goal: at least 10 times faster).
//!
//! Tree: the arm64 Debian rootfs of `.ci/debian-rootfs.sh` (AITE_DEBIAN_ROOTFS),
//! else the armcam firmware from ../shared (extracted first). One run each;
//! prints the times and the ratio, plus the whole `aite security` scan of the
//! same tree for scale.
//!
//! Run: `cargo bench -p aite-security --bench elf_vs_checksec`

use aite_security::{elf, scan, unpack, Limits};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn tree_root(scratch: &Path) -> Option<(String, PathBuf)> {
    if let Some(d) = std::env::var_os("AITE_DEBIAN_ROOTFS") {
        let p = PathBuf::from(d).join("arm64/rootfs");
        if p.is_dir() {
            return Some(("debian arm64 rootfs".into(), p));
        }
    }
    let fw = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/security/firmware/armcam/armcam-full.squashfs");
    if !fw.is_file() {
        return None;
    }
    // checksec needs a real folder: write the regular files out (no links, no special files).
    let (tree, _) = unpack::open(&fw, &scratch.join("work"), Limits::default()).ok()?;
    let root = scratch.join("armcam");
    for e in tree.files() {
        let dst = root.join(&e.path);
        std::fs::create_dir_all(dst.parent()?).ok()?;
        std::fs::copy(e.content.as_ref()?, &dst).ok()?;
    }
    Some(("armcam-full.squashfs (regular files)".into(), root))
}

fn main() {
    let scratch = tempfile::tempdir().unwrap();
    let Some((name, root)) = tree_root(scratch.path()) else {
        eprintln!("skipping: neither AITE_DEBIAN_ROOTFS nor ../shared/assets/security is present");
        return;
    };
    // Warm the page cache for everyone: checksec runs after aite, on a warm cache too.
    let _ = scan(&root, &scratch.path().join("w0"), Limits::default());
    // aite: index the folder, read each file, analyse the ELF ones (one thread).
    let started = Instant::now();
    let (tree, _) = unpack::open(&root, &scratch.path().join("w"), Limits::default()).unwrap();
    let libc = elf::image_libc_chk(&tree);
    let mut n_elf = 0;
    for e in tree.files() {
        let Some(c) = &e.content else { continue };
        let Ok(bytes) = std::fs::read(c) else { continue };
        if bytes.starts_with(b"\x7fELF") && elf::analyse(&e.path, &bytes, libc.as_ref().map(|(_, c)| c)).is_some() {
            n_elf += 1;
        }
    }
    let aite_elf = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let report = scan(&root, &scratch.path().join("w2"), Limits::default()).unwrap();
    let aite_scan = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let out = std::process::Command::new("checksec").arg(format!("--dir={}", root.display())).arg("--output=json").output();
    let checksec = started.elapsed().as_secs_f64();
    let Ok(out) = out.map_err(|e| eprintln!("skipping checksec: {e} (apt-get install checksec)")) else { return };
    let files = serde_json::from_slice::<serde_json::Value>(&out.stdout).ok().and_then(|v| v.as_object().map(|o| o.len())).unwrap_or(0);
    println!("tree: {name}, {} files, {n_elf} ELF (aite), {files} files in checksec's JSON", tree.files().count());
    println!("| tool | seconds | checksec / tool |");
    println!("|---|---|---|");
    println!("| checksec --dir | {checksec:.2} | 1.0 |");
    println!("| aite ELF pass (1 thread) | {aite_elf:.3} | {:.0} |", checksec / aite_elf);
    println!("| aite security, whole scan (all checks, {} findings) | {aite_scan:.3} | {:.0} |", report.findings.len(), checksec / aite_scan);
}
