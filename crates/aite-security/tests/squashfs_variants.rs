//! Issue 10, squashfs as vendors ship it: every version and variant aite reads
//! is read from an image the test builds, and the listing is checked against
//! what was written and, where squashfs-tools opens the image, against
//! `unsquashfs -lln` (the peer: it reads 1.x–4.0 in both byte orders, and no
//! vendor LZMA in 1.x–3.x).
//! - squashfs 4.0 little-endian: `mksquashfs` (Debian squashfs-tools) with every
//!   compressor it was built with (gzip, lzo, lz4, xz, zstd, lzma);
//! - 1.x, 2.x, 3.x in both byte orders, with zlib, `.lzma`-header and raw
//!   ("adaptive") LZMA blocks and vendor magics: tests/squashfs_writer.
//!
//! Skips the peer with a message when squashfs-tools is absent (fails under
//! `AITE_REQUIRE_PEERS=1`).

mod common;
mod squashfs_writer;

use aite_security::tree::{EntryKind, Tree};
use aite_security::unpack::{open, Coverage, Limits};
use squashfs_writer::{Compression, Node, Options};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// What one entry must read back as: (type char, permission bits, uid, gid, size or link target).
type Listing = BTreeMap<String, (char, u32, u32, u32, String)>;

fn busybox() -> Vec<u8> {
    // 150 KiB of varied bytes: several 64 KiB blocks plus a tail in a fragment.
    (0..150_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 % 7 + b'a').collect()
}

fn file(mode: u32, data: &[u8]) -> Node {
    Node::File { mode, uid: 0, gid: 0, data: data.to_vec() }
}

fn dir(children: Vec<(&str, Node)>) -> Node {
    Node::Dir { mode: 0o755, uid: 0, gid: 0, children: children.into_iter().map(|(n, c)| (n.to_string(), c)).collect() }
}

/// The tree every written image holds: root with an empty password, a telnet
/// backdoor started at boot, a setuid multi-block busybox, a symlink, a device,
/// a fifo, an empty folder and a file of another owner.
fn rootfs() -> Node {
    dir(vec![
        ("etc", dir(vec![("passwd", file(0o644, b"root::0:0:root:/root:/bin/sh\n")), ("init.d", dir(vec![("rcS", file(0o755, b"#!/bin/sh\n/usr/sbin/telnetd -l /bin/sh &\n"))]))])),
        ("bin", dir(vec![("busybox", file(0o4755, &busybox())), ("sh", Node::Symlink { target: "busybox".into() })])),
        ("dev", dir(vec![("console", Node::CharDev { mode: 0o600, rdev: 5 << 8 | 1 }), ("initctl", Node::Fifo { mode: 0o600 })])),
        ("usr", dir(vec![("share", dir(vec![("empty", dir(vec![]))]))])),
        ("home", Node::Dir { mode: 0o700, uid: 1000, gid: 50, children: vec![("notes".into(), Node::File { mode: 0o640, uid: 1000, gid: 50, data: b"camera admin notes\n".to_vec() })] }),
        ("empty-file", file(0o644, b"")),
    ])
}

/// The listing of `node` under `path`, and the contents of its files.
fn expected(node: &Node, path: &str, out: &mut Listing, contents: &mut BTreeMap<String, Vec<u8>>) {
    match node {
        Node::Dir { mode, uid, gid, children } => {
            if !path.is_empty() {
                out.insert(path.into(), ('d', *mode, *uid, *gid, String::new()));
            }
            for (name, c) in children {
                expected(c, &if path.is_empty() { name.clone() } else { format!("{path}/{name}") }, out, contents);
            }
        }
        Node::File { mode, uid, gid, data } => {
            out.insert(path.into(), ('-', *mode, *uid, *gid, data.len().to_string()));
            contents.insert(path.into(), data.clone());
        }
        Node::Symlink { target } => drop(out.insert(path.into(), ('l', 0o777, 0, 0, target.clone()))),
        Node::CharDev { mode, .. } => drop(out.insert(path.into(), ('c', *mode, 0, 0, String::new()))),
        Node::Fifo { mode } => drop(out.insert(path.into(), ('p', *mode, 0, 0, String::new()))),
    }
}

/// aite's listing of the tree it read.
fn listing_of(tree: &Tree) -> Listing {
    tree.entries
        .values()
        .map(|e| {
            let (t, extra) = match &e.kind {
                EntryKind::Dir => ('d', String::new()),
                EntryKind::File => ('-', e.size.to_string()),
                EntryKind::Symlink { target } => ('l', target.clone()),
                EntryKind::Device => ('c', String::new()),
                EntryKind::Fifo => ('p', String::new()),
                EntryKind::Socket => ('s', String::new()),
            };
            (e.path.clone(), (t, if t == 'l' { 0o777 } else { e.mode & 0o7777 }, e.uid, e.gid, extra))
        })
        .collect()
}

fn unsquashfs_available() -> bool {
    let ok = Command::new("unsquashfs").arg("-help").output().is_ok();
    if !ok {
        common::skip_or_fail("`unsquashfs` is not installed (apt-get install squashfs-tools)");
    }
    ok
}

/// `unsquashfs -lln` of `image` as a listing (None: unsquashfs refuses the image).
fn unsquashfs(image: &Path) -> Option<Listing> {
    let out = Command::new("unsquashfs").args(["-lln", "-d", "R"]).arg(image).output().unwrap();
    if !out.status.success() {
        return None;
    }
    let mut l = Listing::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // drwxr-xr-x 0/0                  58 2006-01-01 00:00 R/etc
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[0].len() != 10 {
            continue;
        }
        let path_at = f.iter().position(|w| *w == "R" || w.starts_with("R/"))?;
        let path = f[path_at].trim_start_matches('R').trim_start_matches('/');
        if path.is_empty() {
            continue;
        }
        let m = f[0].as_bytes();
        let mut mode = 0u32;
        for (i, &c) in m[1..].iter().enumerate() {
            if c != b'-' && c != b'S' && c != b'T' {
                mode |= 1 << (8 - i);
            }
        }
        if matches!(m[3], b's' | b'S') {
            mode |= 0o4000;
        }
        if matches!(m[6], b's' | b'S') {
            mode |= 0o2000;
        }
        if matches!(m[9], b't' | b'T') {
            mode |= 0o1000;
        }
        let (uid, gid) = f[1].split_once('/').map(|(u, g)| (u.parse().unwrap_or(u32::MAX), g.parse().unwrap_or(u32::MAX)))?;
        // aite records character and block devices as one kind.
        let t = if m[0] == b'b' { 'c' } else { m[0] as char };
        let extra = match t {
            '-' => f[2].to_string(),
            'l' => f.get(path_at + 2).map(|s| s.to_string()).unwrap_or_default(),
            _ => String::new(),
        };
        l.insert(path.to_string(), (t, if t == 'l' { 0o777 } else { mode }, uid, gid, extra));
    }
    Some(l)
}

fn read(image: &[u8]) -> (Tree, Coverage, tempfile::TempDir) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("image.bin"), image).unwrap();
    let (tree, cov) = open(&d.path().join("image.bin"), &d.path().join("work"), Limits::default()).unwrap();
    (tree, cov, d)
}

struct Variant {
    name: &'static str,
    options: Options,
    /// squashfs-tools reads it (no vendor LZMA in 1.x–3.x).
    peer: bool,
}

fn variants() -> Vec<Variant> {
    // 1.x stores the block size in 16 bits: 32 KiB blocks at most.
    let o = |major, minor, be, compression, magic: Option<&[u8; 4]>| Options { major, minor, be, block_log: if major == 1 { 15 } else { 16 }, compression, magic: magic.copied() };
    let raw = |lc, lp, pb, prefix: &[u8]| Compression::LzmaRaw { lc, lp, pb, prefix: prefix.to_vec() };
    vec![
        Variant { name: "3.1 little-endian zlib", options: o(3, 1, false, Compression::Zlib, None), peer: true },
        Variant { name: "3.1 big-endian zlib", options: o(3, 1, true, Compression::Zlib, None), peer: true },
        Variant { name: "3.0 little-endian zlib", options: o(3, 0, false, Compression::Zlib, None), peer: true },
        Variant { name: "3.0 big-endian zlib", options: o(3, 0, true, Compression::Zlib, None), peer: true },
        Variant { name: "2.1 little-endian zlib", options: o(2, 1, false, Compression::Zlib, None), peer: true },
        Variant { name: "2.0 big-endian zlib", options: o(2, 0, true, Compression::Zlib, None), peer: true },
        Variant { name: "1.0 little-endian zlib", options: o(1, 0, false, Compression::Zlib, None), peer: true },
        Variant { name: "1.0 big-endian zlib", options: o(1, 0, true, Compression::Zlib, None), peer: true },
        Variant { name: "3.0 little-endian, .lzma-header LZMA (sqlzma)", options: o(3, 0, false, Compression::LzmaAlone, None), peer: false },
        Variant { name: "3.1 big-endian, .lzma-header LZMA, vendor magic qshs", options: o(3, 1, true, Compression::LzmaAlone, Some(b"qshs")), peer: false },
        Variant { name: "3.0 little-endian, raw LZMA lc=1 lp=2 pb=0 (adaptive), vendor magic shsq", options: o(3, 0, false, raw(1, 2, 0, b""), Some(b"shsq")), peer: false },
        Variant { name: "3.0 big-endian, raw LZMA lc=0 lp=0 pb=0 after a 4-byte vendor header", options: o(3, 0, true, raw(0, 0, 0, b"\x5a\xa5\x5a\xa5"), None), peer: false },
        Variant { name: "2.0 big-endian, raw LZMA default properties, vendor magic tqsh", options: o(2, 0, true, raw(3, 0, 2, b""), Some(b"tqsh")), peer: false },
    ]
}

#[test]
fn every_written_version_and_variant_reads_back_as_written() {
    let root = rootfs();
    let (mut want, mut contents) = (Listing::new(), BTreeMap::new());
    expected(&root, "", &mut want, &mut contents);
    for v in variants() {
        let image = squashfs_writer::write(&root, v.options.clone());
        let (tree, cov, _d) = read(&image);
        assert_eq!(cov.containers.len(), 1, "{}: {:#?}", v.name, cov.containers);
        let c = &cov.containers[0];
        assert!(c.status.is_extracted(), "{}: {c:?}", v.name);
        let format = format!("squashfs-{}.{}-{}", v.options.major, v.options.minor, if v.options.be { "be" } else { "le" });
        assert_eq!(c.format, format, "{}", v.name);
        assert_eq!(listing_of(&tree), want, "{}", v.name);
        for (path, data) in &contents {
            assert_eq!(tree.read(path).as_deref(), Some(data.as_slice()), "{}: {path}", v.name);
        }
        assert!(cov.skipped.is_empty() && cov.limits_hit.is_empty(), "{}: {:?}", v.name, cov.skipped);
    }
}

#[test]
fn unsquashfs_lists_the_same_entries_as_aite_on_every_image_both_open() {
    if !unsquashfs_available() {
        return;
    }
    let root = rootfs();
    let d = tempfile::tempdir().unwrap();
    let (mut agreed, mut compared) = (0, 0);
    for v in variants() {
        let path = d.path().join("image.sqfs");
        std::fs::write(&path, squashfs_writer::write(&root, v.options.clone())).unwrap();
        let theirs = unsquashfs(&path);
        if !v.peer {
            // squashfs-tools has no vendor LZMA for 1.x–3.x: aite reads what it cannot.
            assert!(theirs.is_none() || theirs.as_ref().is_some_and(|l| l.is_empty()), "{}: unsquashfs opened a vendor LZMA image", v.name);
            continue;
        }
        let theirs = theirs.unwrap_or_else(|| panic!("{}: unsquashfs refuses the written image", v.name));
        let (tree, _, _d) = read(&std::fs::read(&path).unwrap());
        let ours = listing_of(&tree);
        compared += 1;
        assert_eq!(ours, theirs, "{}: aite against unsquashfs -lln", v.name);
        agreed += 1;
    }
    println!("unsquashfs -lln agreement: {agreed}/{compared} written images, every entry (path, type, mode, owner, size, link target)");
}

/// Every compressor this mksquashfs was built with, on the same folder.
#[test]
fn mksquashfs_4_0_with_every_compressor_reads_back_and_agrees_with_unsquashfs() {
    let Ok(help) = Command::new("mksquashfs").arg("-help").output() else {
        return common::skip_or_fail("`mksquashfs` is not installed (apt-get install squashfs-tools)");
    };
    let help = String::from_utf8_lossy(&help.stdout).to_string() + &String::from_utf8_lossy(&help.stderr);
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("root");
    for (p, data) in [("etc/passwd", b"root::0:0:root:/root:/bin/sh\n".to_vec()), ("etc/init.d/rcS", b"telnetd\n".to_vec()), ("bin/busybox", busybox()), ("usr/share/big", vec![7u8; 300_000])] {
        std::fs::create_dir_all(src.join(p).parent().unwrap()).unwrap();
        std::fs::write(src.join(p), data).unwrap();
    }
    std::os::unix::fs::symlink("busybox", src.join("bin/sh")).unwrap();
    let mut read_ok = Vec::new();
    for comp in ["gzip", "lzo", "lz4", "xz", "zstd", "lzma"] {
        if !help.lines().any(|l| l.trim() == comp || l.trim().starts_with(&format!("{comp} "))) {
            println!("mksquashfs here is built without {comp}: not tested");
            continue;
        }
        let img = d.path().join(format!("{comp}.sqfs"));
        let ok = Command::new("mksquashfs").arg(&src).arg(&img).args(["-noappend", "-no-progress", "-quiet", "-all-root", "-comp", comp, "-p", "dev/console c 600 0 0 5 1"]).status().unwrap().success();
        assert!(ok, "mksquashfs -comp {comp}");
        let (tree, cov, _t) = read(&std::fs::read(&img).unwrap());
        assert!(cov.containers[0].status.is_extracted(), "{comp}: {:?}", cov.containers);
        assert_eq!(cov.containers[0].format, "squashfs");
        for p in ["etc/passwd", "bin/busybox", "usr/share/big"] {
            assert_eq!(tree.read(p), std::fs::read(src.join(p)).ok(), "{comp}: {p}");
        }
        if unsquashfs_available() {
            assert_eq!(Some(listing_of(&tree)), unsquashfs(&img), "{comp}: aite against unsquashfs -lln");
        }
        read_ok.push(comp);
    }
    println!("mksquashfs 4.0 compressors read and equal to unsquashfs -lln: {read_ok:?}");
    assert!(read_ok.contains(&"gzip") && read_ok.len() >= 4, "{read_ok:?}");
}

#[test]
fn a_vendor_image_gives_its_findings_and_damaged_images_never_panic() {
    use aite_security::{scan, RuleStatus};
    let root = rootfs();
    let d = tempfile::tempdir().unwrap();
    let opts = Options { major: 2, minor: 0, be: true, block_log: 16, compression: Compression::Zlib, magic: None };
    let image = squashfs_writer::write(&root, opts.clone());
    std::fs::write(d.path().join("bcm.sqfs"), &image).unwrap();
    let r = scan(&d.path().join("bcm.sqfs"), &d.path().join("w"), Limits::default()).unwrap();
    assert!(r.complete(), "{:?}", r.gaps);
    let failed: Vec<(&str, &str)> = r.findings.iter().filter(|f| f.failed()).map(|f| (f.rule.as_str(), f.path.as_str())).collect();
    for (rule, path) in [("AITE-CRED-EMPTY", "etc/passwd"), ("AITE-SURFACE-TELNET", "etc/init.d/rcS"), ("AITE-FS-SETUID", "bin/busybox")] {
        assert!(failed.iter().any(|(r, p)| *r == rule && p.starts_with(path)), "{rule} on {path}: {failed:?}");
    }
    assert_eq!(r.status("AITE-UNPACK-INCOMPLETE"), Some(RuleStatus::Pass));
    // Cut, and overwritten in its tables: a failed container with a cause, no pass, no panic.
    let used = image.len() - image.iter().rev().take_while(|&&b| b == 0).count();
    let mut damaged = [image[..used / 2].to_vec(), image.clone(), image.clone()];
    let n = damaged[1].len();
    damaged[1][used - 200..used].fill(0xa5);
    damaged[2][70..n / 2].iter_mut().enumerate().for_each(|(i, b)| *b ^= (i * 31 % 251) as u8);
    for (i, bytes) in damaged.iter().enumerate() {
        let (_, cov, _t) = read(bytes);
        let c = &cov.containers[0];
        if !c.status.is_extracted() {
            let cause = c.status.cause().unwrap_or("");
            assert!(cause.len() > 5 && !cause.contains("panicked"), "damage {i}: {c:?}");
        }
    }
    // Random bytes behind every magic and version: never a panic.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..300 {
        let major = [1, 2, 3][round % 3];
        let mut b = squashfs_writer::write(&root, Options { major, block_log: if major == 1 { 15 } else { 16 }, ..opts.clone() });
        for _ in 0..1 + round % 20 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = 4 + (seed as usize) % (b.len() - 4);
            b[at] = (seed >> 32) as u8;
        }
        let (_, cov, _t) = read(&b);
        assert!(cov.containers.iter().all(|c| !c.status.cause().is_some_and(|c| c.contains("panicked"))), "round {round}: {:?}", cov.containers);
    }
}

/// A squashfs 4.0 image written by backhand with `kind` and `compressor`: the tree
/// of [`rootfs`] without its fifo (what backhand's writer pushes here).
fn backhand_image(kind: backhand::kind::Kind, compressor: backhand::compression::Compressor) -> Vec<u8> {
    use backhand::NodeHeader;
    let mut w = backhand::FilesystemWriter::default();
    w.set_kind(kind);
    w.set_compressor(backhand::FilesystemCompressor::new(compressor, None).unwrap());
    w.set_time(1_136_073_600);
    let h = |mode: u16, uid: u32, gid: u32| NodeHeader::new(mode, uid, gid, 1_136_073_600);
    for d in ["etc", "etc/init.d", "bin", "dev", "usr", "usr/share", "usr/share/empty"] {
        w.push_dir(d, h(0o755, 0, 0)).unwrap();
    }
    w.push_dir("home", h(0o700, 1000, 50)).unwrap();
    w.push_file(std::io::Cursor::new(b"root::0:0:root:/root:/bin/sh\n".to_vec()), "etc/passwd", h(0o644, 0, 0)).unwrap();
    w.push_file(std::io::Cursor::new(b"#!/bin/sh\n/usr/sbin/telnetd -l /bin/sh &\n".to_vec()), "etc/init.d/rcS", h(0o755, 0, 0)).unwrap();
    w.push_file(std::io::Cursor::new(busybox()), "bin/busybox", h(0o4755, 0, 0)).unwrap();
    w.push_symlink("busybox", "bin/sh", h(0o777, 0, 0)).unwrap();
    w.push_char_device(5 << 8 | 1, "dev/console", h(0o600, 0, 0)).unwrap();
    w.push_file(std::io::Cursor::new(b"camera admin notes\n".to_vec()), "home/notes", h(0o640, 1000, 50)).unwrap();
    w.push_file(std::io::Cursor::new(Vec::new()), "empty-file", h(0o644, 0, 0)).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    w.write(&mut out).unwrap();
    out.into_inner()
}

fn rootfs_without_fifo() -> (Listing, BTreeMap<String, Vec<u8>>) {
    let (mut want, mut contents) = (Listing::new(), BTreeMap::new());
    expected(&rootfs(), "", &mut want, &mut contents);
    want.remove("dev/initctl");
    (want, contents)
}

/// Raw LZMA blocks without the `.lzma` header, lc=1 lp=2 pb=0, as vendor SDKs
/// write squashfs 4.0 LZMA images that Debian's unsquashfs cannot read.
struct VendorLzma;

impl backhand::compression::CompressionAction for VendorLzma {
    type Error = backhand::BackhandError;
    type Compressor = backhand::compression::Compressor;
    type FilesystemCompressor = backhand::FilesystemCompressor;
    type SuperBlock = backhand::SuperBlock;

    fn decompress(&self, _: &[u8], _: &mut Vec<u8>, _: Self::Compressor) -> Result<(), Self::Error> {
        Err(backhand::BackhandError::UnsupportedCompression("the test writer does not read".into()))
    }

    fn compress(&self, bytes: &[u8], _: Self::FilesystemCompressor, _: u32) -> Result<Vec<u8>, Self::Error> {
        use std::io::Write;
        let mut o = lzma_rust2::LzmaOptions::with_preset(6);
        (o.lc, o.lp, o.pb, o.dict_size) = (1, 2, 0, 1 << 20);
        let mut w = lzma_rust2::LzmaWriter::new_no_header(Vec::new(), &o, true).unwrap();
        w.write_all(bytes).unwrap();
        Ok(w.finish().unwrap())
    }
}

#[test]
fn squashfs_4_0_big_endian_and_vendor_lzma_read_back_as_written() {
    let (want, contents) = rootfs_without_fifo();
    let be = backhand_image(backhand::kind::Kind::from_const(backhand::kind::BE_V4_0).unwrap(), backhand::compression::Compressor::Gzip);
    assert_eq!(&be[..4], b"sqsh");
    static VENDOR: VendorLzma = VendorLzma;
    let vendor = backhand_image(backhand::kind::Kind::new_v4(&VENDOR), backhand::compression::Compressor::Lzma);
    for (name, image, format) in [("4.0 big-endian gzip", &be, "squashfs-4.0-be"), ("4.0 little-endian, raw vendor LZMA lc=1 lp=2 pb=0", &vendor, "squashfs")] {
        let (tree, cov, _d) = read(image);
        assert_eq!((cov.containers[0].format.as_str(), cov.containers[0].status.is_extracted()), (format, true), "{name}: {:?}", cov.containers);
        assert_eq!(listing_of(&tree), want, "{name}");
        for (path, data) in contents.iter().filter(|(p, _)| want.contains_key(*p)) {
            assert_eq!(tree.read(path).as_deref(), Some(data.as_slice()), "{name}: {path}");
        }
    }
    // The 2013-router case of the issue: the vendor LZMA image's telnet backdoor is found, and the scan is complete.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("router.sqfs"), &vendor).unwrap();
    let r = aite_security::scan(&d.path().join("router.sqfs"), &d.path().join("w"), Limits::default()).unwrap();
    assert!(r.complete(), "{:?}", r.gaps);
    assert!(r.findings.iter().any(|f| f.failed() && f.rule == "AITE-SURFACE-TELNET" && f.path == "etc/init.d/rcS"), "{:?}", r.findings.iter().filter(|f| f.failed()).collect::<Vec<_>>());
    // The peer on the same two images: squashfs-tools reads neither (4.0 is little-endian
    // only there, and it knows only the standard LZMA header), which is why aite reads them itself.
    if unsquashfs_available() {
        let d = tempfile::tempdir().unwrap();
        for (name, image) in [("4.0 big-endian", &be), ("vendor LZMA", &vendor)] {
            let p = d.path().join("x.sqfs");
            std::fs::write(&p, image).unwrap();
            let l = unsquashfs(&p);
            match l {
                Some(l) if !l.is_empty() => assert_eq!(l, want, "{name}: unsquashfs opened it, so it must agree"),
                _ => println!("unsquashfs cannot read the {name} image; aite does"),
            }
        }
    }
}

#[test]
fn legacy_images_are_bounded_by_the_limits() {
    use aite_security::unpack::LimitKind;
    // An 8 MiB file of zeros in a few KiB, against a 1 MiB file limit; then an entry limit of 5.
    let root = Node::Dir { mode: 0o755, uid: 0, gid: 0, children: vec![("bomb".into(), file(0o644, &vec![0u8; 8 << 20])), ("etc".into(), dir(vec![("passwd", file(0o644, b"root::0:0::/:/bin/sh\n"))]))] };
    let image = squashfs_writer::write(&root, Options { major: 3, minor: 1, be: true, block_log: 16, compression: Compression::Zlib, magic: None });
    assert!(image.len() < 128 << 10, "{} bytes", image.len());
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("bomb.sqfs"), &image).unwrap();
    let limits = Limits { max_total_bytes: 4 << 20, max_files: 100, max_file_bytes: 1 << 20 };
    let (tree, cov) = open(&d.path().join("bomb.sqfs"), &d.path().join("w"), limits).unwrap();
    assert!(tree.get("bomb").is_none() && tree.get("etc/passwd").is_some(), "{:?}", cov);
    assert!(cov.skipped.iter().any(|s| s.path == "bomb" && s.reason.contains("max_file_bytes")), "{:?}", cov.skipped);
    assert_eq!(cov.limits_hit.iter().map(|h| h.limit).collect::<Vec<_>>(), [LimitKind::MaxFileBytes]);
    let image = squashfs_writer::write(&rootfs(), Options { major: 2, minor: 0, be: false, block_log: 16, compression: Compression::Zlib, magic: None });
    std::fs::write(d.path().join("many.sqfs"), &image).unwrap();
    let (tree, cov) = open(&d.path().join("many.sqfs"), &d.path().join("w2"), Limits { max_files: 5, ..Limits::default() }).unwrap();
    assert_eq!(tree.entries.len(), 5);
    assert!(cov.limits_hit.iter().any(|h| h.limit == LimitKind::MaxFiles && h.value == 5), "{:?}", cov.limits_hit);
}

/// The real firmware images of ../shared (squashfs 4.0 by mksquashfs): the same entries as unsquashfs lists.
#[test]
fn unsquashfs_lists_the_same_entries_as_aite_on_the_armcam_images() {
    let (Some(dir), true) = (common::shared("firmware/armcam"), unsquashfs_available()) else { return };
    for name in ["armcam-mini.squashfs", "armcam-full.squashfs"] {
        let image = dir.join(name);
        let work = tempfile::tempdir().unwrap();
        let (tree, cov) = open(&image, work.path(), Limits::default()).unwrap();
        assert!(cov.containers[0].status.is_extracted(), "{name}: {:?}", cov.containers);
        let theirs = unsquashfs(&image).unwrap_or_else(|| panic!("unsquashfs refuses {name}"));
        let ours = listing_of(&tree);
        let differ: Vec<_> = theirs.iter().filter(|(p, v)| ours.get(*p) != Some(v)).map(|(p, v)| (p.clone(), v.clone(), ours.get(p).cloned())).chain(ours.keys().filter(|p| !theirs.contains_key(*p)).map(|p| (p.clone(), ours[p].clone(), None))).collect();
        println!("{name}: unsquashfs -lln agreement on {}/{} entries", theirs.len() - differ.len().min(theirs.len()), theirs.len());
        assert!(differ.is_empty(), "{name}: {} entries differ, first {:?}", differ.len(), &differ[..differ.len().min(5)]);
    }
}

/// Review finding 11: every 32- and 64-bit superblock field set whole to 0xff (a table start
/// near `u64::MAX` overflowed an addition: a panic in debug builds) gives a clean outcome, and
/// the fields the reader uses fail with a cause naming them.
#[test]
fn legacy_superblock_fields_set_to_all_ones_fail_cleanly_naming_the_field() {
    let root = rootfs();
    // (offset, width, name in the cause when the reader uses the field), per major version.
    let common: [(usize, usize, Option<&str>); 8] = [(4, 4, None), (8, 4, Some("bytes_used")), (12, 4, Some("uid_start")), (16, 4, Some("guid_start")), (20, 4, Some("inode_table_start")), (24, 4, Some("directory_table_start")), (39, 4, None), (43, 8, Some("root_inode"))];
    let v3: [(usize, usize, Option<&str>); 9] = [(51, 4, Some("block_size")), (55, 4, None), (59, 4, None), (63, 8, Some("bytes_used")), (71, 8, Some("uid_start")), (79, 8, Some("guid_start")), (87, 8, Some("inode_table_start")), (95, 8, Some("directory_table_start")), (103, 8, Some("fragment_table_start"))];
    let mut checked = 0;
    for (major, be) in [(3, false), (3, true), (2, false), (2, true), (1, false)] {
        let image = squashfs_writer::write(&root, Options { major, minor: 0, be, block_log: if major == 1 { 15 } else { 16 }, compression: Compression::Zlib, magic: None });
        let fields: Vec<(usize, usize, Option<&str>)> = match major {
            // 3.x keeps the 32-bit 2.x fields unused: only its 64-bit ones count.
            3 => common.iter().map(|&(at, w, n)| (at, w, if at == 43 { n } else { None })).chain(v3).collect(),
            2 => common.iter().copied().chain([(51, 4, Some("block_size")), (55, 4, None), (59, 4, Some("fragment_table_start"))]).collect(),
            _ => common.to_vec(),
        };
        for (at, width, name) in fields {
            let mut b = image.clone();
            b[at..at + width].fill(0xff);
            let (_, cov, _t) = read(&b);
            let what = format!("{major}.0 {}, bytes {at}..{} = 0xff", if be { "be" } else { "le" }, at + width);
            let c = &cov.containers[0];
            assert!(c.format.starts_with("squashfs"), "{what}: {:?}", cov.containers);
            let cause = c.status.cause().unwrap_or("");
            assert!(!cause.contains("panicked"), "{what}: {c:?}");
            if let Some(name) = name {
                assert!(!c.status.is_extracted() && cause.contains(name), "{what}: the cause should name {name}: {c:?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "{checked}");
}
