//! Flash file systems read by aite's own readers, checked against the same root
//! filesystem as squashfs (read by backhand, whose listing agrees with
//! `unsquashfs -l`): ../shared's armcam-mini.jffs2 (mkfs.jffs2, little-endian,
//! zlib and uncompressed nodes) must give the same file list and the same failing
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

#[test]
fn armcam_jffs2_equals_the_squashfs() {
    let (Some(jffs2), Some(squashfs)) = (common::shared("firmware/armcam/armcam-mini.jffs2"), common::shared("firmware/armcam/armcam-mini.squashfs")) else { return };
    let (a, b) = (listing(&jffs2), listing(&squashfs));
    assert!(b.len() > 100, "the squashfs lists {} entries", b.len());
    let only_jffs2: Vec<_> = a.difference(&b).take(10).collect();
    let only_squashfs: Vec<_> = b.difference(&a).take(10).collect();
    assert!(only_jffs2.is_empty() && only_squashfs.is_empty(), "only in jffs2: {only_jffs2:?}\nonly in squashfs: {only_squashfs:?}");
    let (r, s) = (scan_of(&jffs2), scan_of(&squashfs));
    assert!(r.complete(), "{:?}", r.gaps);
    let jffs2_container = r.coverage.containers.iter().find(|c| c.format == "jffs2").expect("a jffs2 container");
    assert!(jffs2_container.status.is_extracted(), "{jffs2_container:?}");
    assert_eq!(failing(&r), failing(&s));
    // The planted weaknesses are among them: root's default password and the malicious pickle.
    let f = failing(&r);
    for (rule, path) in [("AITE-CRED-DEFAULT", "etc/shadow"), ("AITE-MODEL-PICKLE-CODE", "opt/ai/models/attr_classifier.pkl")] {
        assert!(f.contains(&(rule.to_string(), path.to_string())), "{rule} {path}: {f:?}");
    }
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
