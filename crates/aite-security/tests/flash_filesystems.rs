//! Flash file systems read by aite's own readers, checked against the same root
//! filesystem as squashfs (read by backhand, whose listing agrees with
//! `unsquashfs -l`): ../shared's armcam-mini.jffs2 (mkfs.jffs2, little-endian,
//! zlib and uncompressed nodes) and armcam-mini.ubi (ubinize, one UBIFS volume,
//! mkfs.ubifs with LZO) must give the same file list, contents and failing
//! findings as armcam-mini.squashfs. Skips with a message when ../shared is absent
//! (fails under `AITE_REQUIRE_PEERS=1`).

mod common;

use aite_security::tree::EntryKind;
use aite_security::{scan, unpack, Limits, SecurityReport};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;

/// (path, kind, mode, uid, gid, size, symlink target or SHA-256 of the contents) of every entry.
fn listing(input: &Path) -> BTreeSet<(String, String, u32, u32, u32, u64, String)> {
    let work = tempfile::tempdir().unwrap();
    let (tree, _) = unpack::open(input, &work.path().join("x"), Limits::default()).unwrap();
    tree.entries
        .values()
        .map(|e| {
            let (kind, target) = match &e.kind {
                EntryKind::Symlink { target } => ("symlink".to_string(), target.clone()),
                k => (format!("{k:?}"), e.content.as_ref().map(|c| hex::encode(Sha256::digest(std::fs::read(c).unwrap()))).unwrap_or_default()),
            };
            (e.path.clone(), kind, e.mode, e.uid, e.gid, e.size, target)
        })
        .collect()
}

fn scan_of(input: &Path) -> SecurityReport {
    let work = tempfile::tempdir().unwrap();
    scan(input, &work.path().join("x"), Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", input.display()))
}

fn failing(r: &SecurityReport) -> BTreeSet<(String, String)> {
    r.findings.iter().filter(|f| f.failed()).map(|f| (f.rule.clone(), f.path.clone())).collect()
}

/// `image` (a flash file system form of armcam-mini) lists the same entries with the
/// same contents as the squashfs, its container `format` is extracted, the scan is
/// complete and the failing findings are the same. `owned`: entries whose owner the
/// image keeps where the squashfs (built with all files owned by root) has root.
fn equals_the_squashfs(image: &str, format: &str, owned: &[(&str, u32)]) {
    let (Some(flash), Some(squashfs)) = (common::shared(&format!("firmware/armcam/{image}")), common::shared("firmware/armcam/armcam-mini.squashfs")) else { return };
    let mut a = listing(&flash);
    let b = listing(&squashfs);
    let kept: BTreeSet<(&str, u32)> = a.iter().filter(|e| e.3 != 0).map(|e| (e.0.as_str(), e.3)).collect();
    assert_eq!(kept, owned.iter().copied().collect(), "{image}: entries not owned by root");
    a = a.into_iter().map(|(p, k, m, _, _, size, t)| (p, k, m, 0, 0, size, t)).collect();
    assert!(b.len() > 100, "the squashfs lists {} entries", b.len());
    let only_flash: Vec<_> = a.difference(&b).take(10).collect();
    let only_squashfs: Vec<_> = b.difference(&a).take(10).collect();
    assert!(only_flash.is_empty() && only_squashfs.is_empty(), "only in {image}: {only_flash:?}\nonly in squashfs: {only_squashfs:?}");
    let (r, s) = (scan_of(&flash), scan_of(&squashfs));
    assert!(r.complete(), "{image}: {:?}", r.gaps);
    let container = r.coverage.containers.iter().find(|c| c.format == format).expect("the container");
    assert!(container.status.is_extracted(), "{container:?}");
    assert_eq!(failing(&r), failing(&s), "{image}");
    // The planted weaknesses are among them: root's default password and the malicious pickle.
    let f = failing(&r);
    for (rule, path) in [("AITE-CRED-DEFAULT", "etc/shadow"), ("AITE-MODEL-PICKLE-CODE", "opt/ai/models/attr_classifier.pkl")] {
        assert!(f.contains(&(rule.to_string(), path.to_string())), "{image}: {rule} {path}: {f:?}");
    }
}

#[test]
fn armcam_jffs2_equals_the_squashfs() {
    equals_the_squashfs("armcam-mini.jffs2", "jffs2", &[]);
}

/// UBI (one dynamic volume) holding UBIFS with LZO data. mkfs.ubifs ran without
/// --squash-uids: lighttpd's folders keep www-data (uid 33) as Debian's package made them.
#[test]
fn armcam_ubi_equals_the_squashfs() {
    let www = ["var/cache/lighttpd", "var/cache/lighttpd/compress", "var/cache/lighttpd/uploads", "var/log/lighttpd"].map(|p| (p, 33));
    equals_the_squashfs("armcam-mini.ubi", "ubi", &www);
}

/// A byte flipped inside a node's data: the data CRC fails, the container fails with
/// that cause and the scan is incomplete.
#[test]
fn a_damaged_jffs2_fails_with_the_crc_cause() {
    let Some(jffs2) = common::shared("firmware/armcam/armcam-mini.jffs2") else { return };
    let mut bytes = std::fs::read(&jffs2).unwrap();
    bytes[200_000] ^= 0x55;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.jffs2");
    std::fs::write(&path, &bytes).unwrap();
    let r = scan_of(&path);
    assert!(!r.complete());
    let c = r.coverage.containers.iter().find(|c| c.format == "jffs2").unwrap();
    let cause = c.status.cause().unwrap_or_default();
    assert!(c.status.name() == "failed" && cause.contains("CRC mismatch"), "{c:?}");
}

/// Damage anywhere in the UBI or the JFFS2 (every 7919th byte from one of eight starts
/// flipped) never panics a reader: each container is extracted or failed with a cause.
#[test]
fn damaged_flash_images_never_panic_a_reader() {
    for name in ["armcam-mini.ubi", "armcam-mini.jffs2"] {
        let Some(image) = common::shared(&format!("firmware/armcam/{name}")) else { return };
        let clean = std::fs::read(&image).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for start in 0..8 {
            let mut bytes = clean[..clean.len().min(1 << 20)].to_vec();
            for i in (start * 997..bytes.len()).step_by(7919) {
                bytes[i] ^= 0xa5;
            }
            let path = dir.path().join(format!("{start}-{name}"));
            std::fs::write(&path, &bytes).unwrap();
            let r = scan_of(&path);
            for c in &r.coverage.containers {
                let cause = c.status.cause().unwrap_or_default();
                assert!(!cause.contains("parser panicked") && (c.status.is_extracted() || !cause.trim().is_empty()), "{name} {start}: {c:?}");
            }
            assert!(!r.complete(), "{name} {start}: damage is noticed");
        }
    }
}
