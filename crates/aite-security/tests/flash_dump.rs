//! Issue 10, flash dumps: a raw dump of a camera's NOR flash as a programmer reads
//! it (bootloader, a FIT kernel image, a squashfs root filesystem, a config
//! partition, erased flash between them) is carved so that carving continues after
//! each payload and reaches the root filesystem's findings; the FIT (U-Boot's
//! flattened-image-tree uImage) is read: its gzip kernel, its device tree, and its
//! LZMA ramdisk stored after the tree (`data-offset`).
//!
//! The FIT is built here by hand from the devicetree specification's blob layout
//! (header, memory reservation block, structure block, strings block) and U-Boot's
//! FIT node layout (`/images/<name>` with `data` or `data-offset` + `data-size`);
//! independently, U-Boot's own `mkimage -f` builds FITs (embedded data, `-E`
//! external data, `-E -p` fixed positions) that aite must read the same way (skips
//! with a message without u-boot-tools and device-tree-compiler; fails under
//! `AITE_REQUIRE_PEERS=1`).

mod common;
mod squashfs_writer;

use aite_security::unpack::{open, ContainerStatus, Limits};
use aite_security::{scan, RuleStatus};
use std::io::Write;

/// A flattened device tree: nodes as (depth change, name, properties).
struct Fdt {
    structure: Vec<u8>,
    strings: Vec<u8>,
}

impl Fdt {
    fn new() -> Self {
        Fdt { structure: vec![], strings: vec![] }
    }
    fn pad(&mut self) {
        while !self.structure.len().is_multiple_of(4) {
            self.structure.push(0);
        }
    }
    fn begin(&mut self, name: &str) -> &mut Self {
        self.structure.extend(1u32.to_be_bytes());
        self.structure.extend(name.as_bytes());
        self.structure.push(0);
        self.pad();
        self
    }
    fn end(&mut self) -> &mut Self {
        self.structure.extend(2u32.to_be_bytes());
        self
    }
    fn prop(&mut self, name: &str, value: &[u8]) -> &mut Self {
        let off = match self.strings.windows(name.len() + 1).position(|w| &w[..name.len()] == name.as_bytes() && w[name.len()] == 0) {
            Some(o) => o,
            None => {
                let o = self.strings.len();
                self.strings.extend(name.as_bytes());
                self.strings.push(0);
                o
            }
        };
        self.structure.extend(3u32.to_be_bytes());
        self.structure.extend((value.len() as u32).to_be_bytes());
        self.structure.extend((off as u32).to_be_bytes());
        self.structure.extend(value);
        self.pad();
        self
    }
    fn text(&mut self, name: &str, value: &str) -> &mut Self {
        let mut v = value.as_bytes().to_vec();
        v.push(0);
        self.prop(name, &v)
    }
    fn blob(mut self) -> Vec<u8> {
        self.structure.extend(9u32.to_be_bytes());
        let (off_rsv, off_struct) = (40u32, 56u32);
        let off_strings = off_struct + self.structure.len() as u32;
        let total = off_strings + self.strings.len() as u32;
        let mut b = Vec::new();
        for v in [0xd00d_feed, total, off_struct, off_strings, off_rsv, 17, 16, 0, self.strings.len() as u32, self.structure.len() as u32] {
            b.extend(u32::to_be_bytes(v));
        }
        b.extend([0u8; 16]); // an empty memory reservation block
        b.extend(self.structure);
        b.extend(self.strings);
        b
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn lzma(data: &[u8]) -> Vec<u8> {
    let o = lzma_rust2::LzmaOptions::with_preset(6);
    let mut w = lzma_rust2::LzmaWriter::new_use_header(Vec::new(), &o, Some(data.len() as u64)).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn cpio(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        let mut w = cpio::NewcBuilder::new(name).mode(0o100644).write(&mut out, data.len() as u32);
        w.write_all(data).unwrap();
        w.finish().unwrap();
    }
    cpio::newc::trailer(&mut out).unwrap();
    out
}

/// A FIT with a gzip kernel and a device tree inside the tree, and an LZMA ramdisk after it.
fn fit() -> Vec<u8> {
    let kernel = gzip(&b"ARM Linux kernel code, no signature inside ".repeat(300));
    let mut board = Fdt::new();
    board.begin("").text("model", "aite camera board").text("compatible", "aite,cam").end();
    let dtb = board.blob();
    let ramdisk = lzma(&cpio(&[("init", b"#!/bin/sh\nexec /sbin/init\n"), ("etc/ramdisk-release", b"1.2.3\n")]));
    let mut f = Fdt::new();
    f.begin("").text("description", "camera firmware").begin("images");
    f.begin("kernel-1").text("type", "kernel").text("arch", "arm").text("compression", "gzip").prop("data", &kernel);
    f.begin("hash-1").text("algo", "crc32").prop("value", &[0, 0, 0, 0]).end().end();
    f.begin("fdt-1").text("type", "flat_dt").text("compression", "none").prop("data", &dtb).end();
    f.begin("ramdisk-1").text("type", "ramdisk").text("compression", "lzma").prop("data-offset", &0u32.to_be_bytes()).prop("data-size", &(ramdisk.len() as u32).to_be_bytes()).end();
    f.end().begin("configurations").text("default", "conf-1").begin("conf-1").text("kernel", "kernel-1").end().end().end();
    let mut blob = f.blob();
    while !blob.len().is_multiple_of(4) {
        blob.push(0);
    }
    blob.extend(ramdisk);
    blob
}

fn rootfs() -> Vec<u8> {
    use squashfs_writer::{Compression, Node, Options};
    let file = |mode: u32, data: &[u8]| Node::File { mode, uid: 0, gid: 0, data: data.to_vec() };
    let dir = |children: Vec<(&str, Node)>| Node::Dir { mode: 0o755, uid: 0, gid: 0, children: children.into_iter().map(|(n, c)| (n.to_string(), c)).collect() };
    let root = dir(vec![("etc", dir(vec![("passwd", file(0o644, b"root::0:0:root:/root:/bin/sh\n")), ("init.d", dir(vec![("rcS", file(0o755, b"#!/bin/sh\n/usr/sbin/telnetd -l /bin/sh &\n"))]))]))]);
    squashfs_writer::write(&root, Options { major: 3, minor: 0, be: true, block_log: 16, compression: Compression::Zlib, magic: None })
}

fn config_partition() -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    let data = b"wifi_ssid=camera\nhttp_user=admin\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o600);
    h.set_cksum();
    t.append_data(&mut h, "config/nvram.txt", &data[..]).unwrap();
    gzip(&t.into_inner().unwrap())
}

/// Bootloader bytes (pseudo-random: no signature), then each partition at a 64 KiB boundary in erased flash.
fn dump() -> (Vec<u8>, [usize; 3]) {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut d: Vec<u8> = (0..16 << 10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let mut at = [0usize; 3];
    for (i, part) in [fit(), rootfs(), config_partition()].into_iter().enumerate() {
        d.resize(d.len().div_ceil(64 << 10) * (64 << 10), 0xff);
        at[i] = d.len();
        d.extend(part);
    }
    d.resize(d.len().div_ceil(64 << 10) * (64 << 10), 0xff);
    (d, at)
}

#[test]
fn a_raw_flash_dump_reaches_its_rootfs_and_reads_the_fit_kernel_image() {
    let (bytes, [fit_at, root_at, config_at]) = dump();
    assert_eq!(fit_at, 64 << 10);
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("flash.bin");
    std::fs::write(&input, &bytes).unwrap();
    let (tree, cov) = open(&input, &d.path().join("w"), Limits::default()).unwrap();
    let found: Vec<(&str, u64, &str)> = cov.containers.iter().map(|c| (c.format.as_str(), c.offset, c.status.name())).collect();
    let (fit_at, root_at, config_at) = (fit_at as u64, root_at as u64, config_at as u64);
    let fit_len = fit().len() as u64;
    // The FIT, each of its payloads (at its own offset), then carving resumes: the rootfs and the config partition.
    for want in [("fit", fit_at, "extracted"), ("squashfs-3.0-be", root_at, "extracted"), ("gzip", config_at, "extracted"), ("gzip/tar", config_at, "extracted")] {
        assert!(found.contains(&want), "{want:?} in {found:#?}");
    }
    assert_eq!(cov.containers.iter().find(|c| c.format == "fit").unwrap().length, Some(fit_len), "the FIT spans its tree and the ramdisk after it");
    let inner: Vec<(&str, &str)> = found.iter().filter(|(f, ..)| f.starts_with("fit:")).map(|(f, _, s)| (*f, *s)).collect();
    assert_eq!(inner, [("fit:kernel-1/gzip", "extracted"), ("fit:kernel-1/gzip/unknown", "not-understood"), ("fit:fdt-1/fdt", "extracted"), ("fit:ramdisk-1/lzma", "extracted"), ("fit:ramdisk-1/lzma/cpio", "extracted")], "{found:#?}");
    // Files from the ramdisk, the rootfs and the config partition.
    for p in ["init", "etc/ramdisk-release", "etc/passwd", "etc/init.d/rcS", "config/nvram.txt"] {
        assert!(tree.get(p).is_some(), "{p}: {:?}", tree.entries.keys().collect::<Vec<_>>());
    }
    // The scan: the rootfs findings, and exactly two gaps: the bootloader and the kernel code.
    let r = scan(&input, &d.path().join("w2"), Limits::default()).unwrap();
    let failed: Vec<(&str, &str)> = r.findings.iter().filter(|f| f.failed()).map(|f| (f.rule.as_str(), f.path.as_str())).collect();
    assert!(failed.contains(&("AITE-CRED-EMPTY", "etc/passwd")) || failed.iter().any(|(r, p)| *r == "AITE-CRED-EMPTY" && p.starts_with("etc/passwd")), "{failed:?}");
    assert!(failed.contains(&("AITE-SURFACE-TELNET", "etc/init.d/rcS")), "{failed:?}");
    assert_eq!(r.gaps.len(), 2, "{:#?}", r.gaps);
    assert_eq!(r.gaps[0], format!("fit:kernel-1/gzip/unknown at offset {}: not-understood: no known signature", r.coverage.containers.iter().find(|c| c.format == "fit:kernel-1/gzip/unknown").unwrap().offset));
    // The bootloader and the erased flash after it are one unclaimed range, a gap whole (as every range holding data).
    assert_eq!(r.gaps[1], format!("{fit_at} bytes at offset 0 in no known format"));
    assert!(r.coverage.padding_bytes > 100_000, "erased flash between partitions is padding: {}", r.coverage.padding_bytes);
    assert_eq!(r.status("AITE-UNPACK-INCOMPLETE"), Some(RuleStatus::Fail));
}

#[test]
fn a_damaged_fit_fails_with_a_cause_and_carving_goes_on() {
    let (mut bytes, [fit_at, root_at, _]) = dump();
    // The ramdisk's declared size runs past the dump: the FIT fails, the rootfs after it is still read.
    let fit = fit();
    let size_at = fit.windows(4).position(|w| w == (lzma(&cpio(&[("init", b"#!/bin/sh\nexec /sbin/init\n"), ("etc/ramdisk-release", b"1.2.3\n")])).len() as u32).to_be_bytes()).unwrap();
    bytes[fit_at + size_at..fit_at + size_at + 4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("flash.bin"), &bytes).unwrap();
    let (tree, cov) = open(&d.path().join("flash.bin"), &d.path().join("w"), Limits::default()).unwrap();
    let fit_c = cov.containers.iter().find(|c| c.format == "fit" && c.offset == fit_at as u64).unwrap();
    let ContainerStatus::Failed(cause) = &fit_c.status else { panic!("{fit_c:?}") };
    assert!(cause.contains("ramdisk-1") && cause.contains("past"), "{cause}");
    assert!(cov.containers.iter().any(|c| c.format == "squashfs-3.0-be" && c.offset == root_at as u64 && c.status.is_extracted()), "{:#?}", cov.containers);
    assert!(tree.get("etc/passwd").is_some());
}

#[test]
fn fits_built_by_mkimage_are_read_with_embedded_external_and_positioned_data() {
    let ok = |tool: &str| std::process::Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok("mkimage") || !ok("dtc") {
        return common::skip_or_fail("`mkimage` or `dtc` is not installed (apt-get install u-boot-tools device-tree-compiler)");
    }
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("kernel.gz"), gzip(&b"ARM Linux kernel code ".repeat(500))).unwrap();
    std::fs::write(d.path().join("ramdisk.cpio.lzma"), lzma(&cpio(&[("init", b"#!/bin/sh\nexec /sbin/init\n")]))).unwrap();
    std::fs::write(d.path().join("rootfs.sqfs"), rootfs()).unwrap();
    let its = r#"/dts-v1/;
/ {
    description = "aite test FIT";
    #address-cells = <1>;
    images {
        kernel-1 { description = "kernel"; data = /incbin/("kernel.gz"); type = "kernel"; arch = "arm"; os = "linux"; compression = "gzip"; load = <0x80008000>; entry = <0x80008000>; hash-1 { algo = "sha256"; }; };
        ramdisk-1 { data = /incbin/("ramdisk.cpio.lzma"); type = "ramdisk"; arch = "arm"; os = "linux"; compression = "lzma"; hash-1 { algo = "crc32"; }; };
        rootfs-1 { data = /incbin/("rootfs.sqfs"); type = "filesystem"; arch = "arm"; os = "linux"; compression = "none"; };
    };
    configurations { default = "conf-1"; conf-1 { kernel = "kernel-1"; ramdisk = "ramdisk-1"; }; };
};
"#;
    std::fs::write(d.path().join("fw.its"), its).unwrap();
    for (name, extra) in [("embedded", vec![]), ("external", vec!["-E"]), ("positioned", vec!["-E", "-p", "0x3000"])] {
        let out = d.path().join(format!("{name}.itb"));
        let st = std::process::Command::new("mkimage").current_dir(d.path()).args(&extra).arg("-f").arg("fw.its").arg(&out).output().unwrap();
        assert!(st.status.success(), "mkimage {name}: {}", String::from_utf8_lossy(&st.stderr));
        let bytes = std::fs::read(&out).unwrap();
        let (tree, cov) = open(&out, &d.path().join(format!("w-{name}")), Limits::default()).unwrap();
        let found: Vec<(&str, &str)> = cov.containers.iter().map(|c| (c.format.as_str(), c.status.name())).collect();
        assert_eq!(found, [("fit", "extracted"), ("fit:kernel-1/gzip", "extracted"), ("fit:kernel-1/gzip/unknown", "not-understood"), ("fit:ramdisk-1/lzma", "extracted"), ("fit:ramdisk-1/lzma/cpio", "extracted"), ("fit:rootfs-1/squashfs-3.0-be", "extracted")], "{name}");
        assert_eq!(cov.containers[0].length, Some(bytes.len() as u64), "{name}: the FIT spans the whole file");
        for p in ["init", "etc/passwd", "etc/init.d/rcS"] {
            assert!(tree.get(p).is_some(), "{name}: {p}");
        }
        assert_eq!(tree.read("etc/passwd").as_deref(), Some(&b"root::0:0:root:/root:/bin/sh\n"[..]));
    }
}

/// A FIT of `n` images whose `data-position` 0 / `data-size` = the whole blob point back at the tree.
fn self_pointing_fit(n: usize) -> Vec<u8> {
    let build = |size: u32| {
        let mut f = Fdt::new();
        f.begin("").begin("images");
        for i in 0..n {
            f.begin(&format!("img-{i}")).prop("data-position", &0u32.to_be_bytes()).prop("data-size", &size.to_be_bytes()).end();
        }
        f.end().end();
        f.blob()
    };
    let total = build(0).len() as u32;
    build(total)
}

#[test]
fn a_fit_whose_images_point_back_into_the_tree_is_refused_not_rescanned() {
    // Before: every image was the FIT again, re-read at each nesting level (n^4 scans of the blob).
    let n = 2000;
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("fit.itb"), self_pointing_fit(n)).unwrap();
    let (_, cov) = open(&d.path().join("fit.itb"), &d.path().join("w"), Limits::default()).unwrap();
    assert!(cov.containers.len() <= 4, "{} containers: {:?}", cov.containers.len(), &cov.containers[..cov.containers.len().min(8)]);
    assert!(!cov.containers.iter().any(|c| c.format.starts_with("fit:")), "no image is scanned: {:?}", cov.containers);
    let fit = cov.containers.iter().find(|c| c.format == "fit" && c.offset == 0).unwrap_or_else(|| panic!("{:?}", cov.containers));
    let ContainerStatus::Failed(cause) = &fit.status else { panic!("{fit:?}") };
    assert!(cause.contains("`img-0`") && cause.contains("inside the tree") && cause.contains(&format!("{} more", n - 1)), "{cause}");

    // Two images after the tree claiming the same bytes: the second is refused, the first read.
    let payload = gzip(b"kernel");
    let build = |second: u32| {
        let mut f = Fdt::new();
        f.begin("").begin("images");
        f.begin("kernel-1").prop("data-offset", &0u32.to_be_bytes()).prop("data-size", &(payload.len() as u32).to_be_bytes()).end();
        f.begin("kernel-2").prop("data-offset", &second.to_be_bytes()).prop("data-size", &(payload.len() as u32).to_be_bytes()).end();
        f.end().end();
        let mut b = f.blob();
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        b.extend(&payload);
        b.extend(&payload);
        b
    };
    std::fs::write(d.path().join("twice.itb"), build(2)).unwrap();
    let (_, cov) = open(&d.path().join("twice.itb"), &d.path().join("w2"), Limits::default()).unwrap();
    let fit = cov.containers.iter().find(|c| c.format == "fit").unwrap();
    let ContainerStatus::Failed(cause) = &fit.status else { panic!("{fit:?}") };
    assert!(cause.contains("`kernel-2`") && cause.contains("overlaps") && cause.contains("`kernel-1`"), "{cause}");
    assert!(cov.containers.iter().any(|c| c.format == "fit:kernel-1/gzip" && c.status.is_extracted()), "{:?}", cov.containers);
    assert!(!cov.containers.iter().any(|c| c.format.starts_with("fit:kernel-2")), "{:?}", cov.containers);
    // The same two images side by side are both read.
    std::fs::write(d.path().join("apart.itb"), build(payload.len() as u32)).unwrap();
    let (_, cov) = open(&d.path().join("apart.itb"), &d.path().join("w3"), Limits::default()).unwrap();
    assert!(cov.containers.iter().any(|c| c.format == "fit" && c.status.is_extracted()), "{:?}", cov.containers);
    assert_eq!(cov.containers.iter().filter(|c| c.format.ends_with("/gzip") && c.status.is_extracted()).count(), 2, "{:?}", cov.containers);
}
