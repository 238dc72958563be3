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

/// (path, kind, size, symlink target or SHA-256) of every entry under an extracted folder.
fn extracted(root: &Path) -> BTreeSet<(String, String, u64, String)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let entry = if m.is_dir() {
                stack.push(p.clone());
                (rel, "Dir".to_string(), 0, String::new())
            } else if m.file_type().is_symlink() {
                (rel, "symlink".to_string(), 0, std::fs::read_link(&p).unwrap().to_string_lossy().into_owned())
            } else if m.is_file() {
                (rel, "File".to_string(), m.len(), hex::encode(Sha256::digest(std::fs::read(&p).unwrap())))
            } else {
                (rel, "Device".to_string(), 0, String::new())
            };
            out.insert(entry);
        }
    }
    out
}

/// The peers extract the same files as aite lists: `jefferson` (JFFS2) and
/// `ubireader_extract_files` (UBI/UBIFS), both from PyPI, in the peer virtualenv
/// (`AITE_PEER_PYTHON`; `pip install ubi_reader==0.8.16 jefferson==0.4.8`).
#[test]
fn jefferson_and_ubi_reader_extract_the_same_files() {
    let Some(python) = common::peer_python() else { return };
    let bin = python.parent().unwrap().to_path_buf();
    for (image, tool) in [("armcam-mini.jffs2", "jefferson"), ("armcam-mini.ubi", "ubireader_extract_files")] {
        let Some(input) = common::shared(&format!("firmware/armcam/{image}")) else { return };
        let exe = bin.join(tool);
        if !exe.exists() {
            common::skip_or_fail(&format!("{} is absent (pip install ubi_reader==0.8.16 jefferson==0.4.8 in the peer virtualenv)", exe.display()));
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let mut cmd = std::process::Command::new(&exe);
        if tool == "jefferson" {
            cmd.arg("-d").arg(&out);
        } else {
            cmd.arg("-k").arg("-o").arg(&out);
        }
        let r = cmd.arg(&input).output().unwrap();
        assert!(r.status.success(), "{tool}: {}", String::from_utf8_lossy(&r.stderr));
        // ubi_reader extracts under <image sequence number>/<volume name>/.
        let mut root = out.clone();
        if tool != "jefferson" {
            root = std::fs::read_dir(&root).unwrap().flatten().next().unwrap().path().join("rootfs");
        }
        let peer = extracted(&root);
        let ours: BTreeSet<(String, String, u64, String)> = listing(&input).into_iter().map(|(p, k, _, _, _, size, t)| (p, k, size, t)).collect();
        assert!(peer.len() > 100, "{tool}: {} entries", peer.len());
        let only_peer: Vec<_> = peer.difference(&ours).take(10).collect();
        let only_aite: Vec<_> = ours.difference(&peer).take(10).collect();
        assert!(only_peer.is_empty() && only_aite.is_empty(), "{image}: only {tool}: {only_peer:?}\nonly aite: {only_aite:?}");
    }
}

/// A small root filesystem folder: text that compresses, bytes that do not, a
/// 200 KiB file (many nodes), an empty file, a symlink, a hard link, nested folders.
fn source_tree(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let w = |p: &str, data: &[u8]| {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    };
    w("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n");
    w("etc/shadow", b"root:$1$abc$0123456789abcdefghijkl:19000:0:99999:7:::\n");
    std::fs::set_permissions(root.join("etc/shadow"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut x: u32 = 12345;
    let noise: Vec<u8> = (0..70_000).map(|_| { x ^= x << 13; x ^= x >> 17; x ^= x << 5; x as u8 }).collect();
    w("opt/noise.bin", &noise);
    let text: Vec<u8> = (0..200 << 10).map(|i| b"the quick brown fox "[i % 20]).collect();
    w("usr/share/doc/big.txt", &text);
    w("var/empty", b"");
    std::os::unix::fs::symlink("../etc/passwd", root.join("opt/link")).unwrap();
    std::fs::hard_link(root.join("etc/passwd"), root.join("etc/passwd-hard")).unwrap();
    std::fs::create_dir_all(root.join("home/a/b/c")).unwrap();
}

/// mkfs.jffs2, mkfs.ubifs and ubinize (Debian mtd-utils) build images of one folder in
/// both byte orders and every compressor they offer; aite lists exactly the folder.
#[test]
fn mtd_utils_images_list_exactly_their_folder() {
    use std::process::Command;
    let have = |tool: &str| Command::new(tool).arg("--help").output().is_ok();
    if !(have("mkfs.jffs2") && have("mkfs.ubifs") && have("ubinize")) {
        return common::skip_or_fail("mkfs.jffs2, mkfs.ubifs or ubinize is absent (apt-get install mtd-utils)");
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("rootfs");
    source_tree(&src);
    let want = extracted(&src);
    let run = |cmd: &mut Command| {
        let r = cmd.output().unwrap();
        assert!(r.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&r.stderr));
    };
    let check = |image: &Path, format: &str| {
        let ours: BTreeSet<(String, String, u64, String)> = listing(image).into_iter().map(|(p, k, _, _, _, size, t)| (p, k, size, t)).collect();
        let (missing, extra): (Vec<_>, Vec<_>) = (want.difference(&ours).collect(), ours.difference(&want).collect());
        assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}\nextra {extra:?}", image.display());
        let r = scan_of(image);
        let c = r.coverage.containers.iter().find(|c| c.format == format).unwrap();
        assert!(c.status.is_extracted() && r.complete(), "{}: {c:?} {:?}", image.display(), r.gaps);
    };
    for (name, args) in [
        ("be-zlib-rtime", vec!["-b"]),
        ("le-lzo", vec!["-l", "-X", "lzo", "-x", "zlib", "-x", "rtime"]),
        ("be-rtime", vec!["-b", "-x", "zlib"]),
        ("le-none", vec!["-l", "-m", "none"]),
    ] {
        let image = dir.path().join(format!("{name}.jffs2"));
        run(Command::new("mkfs.jffs2").arg("-r").arg(&src).arg("-o").arg(&image).args(["-e", "64KiB", "-n"]).args(&args));
        check(&image, "jffs2");
    }
    let mut cfg = String::new();
    for (i, compr) in ["zstd", "zlib", "none", "lzo"].iter().enumerate() {
        let fs = dir.path().join(format!("{compr}.ubifs"));
        run(Command::new("mkfs.ubifs").arg("-r").arg(&src).args(["-m", "2048", "-e", "126976", "-c", "100", "-x", compr, "-o"]).arg(&fs));
        cfg += &format!("[{compr}]\nmode=ubi\nimage={}\nvol_id={i}\nvol_type=dynamic\nvol_name={compr}\n", fs.display());
    }
    let ini = dir.path().join("ubinize.cfg");
    std::fs::write(&ini, cfg).unwrap();
    let image = dir.path().join("four-volumes.ubi");
    run(Command::new("ubinize").arg("-o").arg(&image).args(["-m", "2048", "-p", "128KiB", "-s", "2048"]).arg(&ini));
    let all: BTreeSet<(String, String, u64, String)> = listing(&image).into_iter().map(|(p, k, _, _, _, size, t)| (p, k, size, t)).collect();
    for compr in ["zstd", "zlib", "none", "lzo"] {
        let vol: BTreeSet<_> = all.iter().filter_map(|(p, k, s, t)| p.strip_prefix(&format!("{compr}/")).map(|p| (p.to_string(), k.clone(), *s, t.clone()))).collect();
        assert_eq!(vol, want, "volume {compr} of the four-volume UBI");
    }
    let r = scan_of(&image);
    assert!(r.complete(), "{:?}", r.gaps);
}
