//! The whole static scan on root filesystems assembled from real Debian
//! packages for arm64 (tar.xz) and armhf (tar.gz) by `.ci/debian-rootfs.sh`,
//! found through AITE_DEBIAN_ROOTFS. Skips with a message without it (fails
//! under `AITE_REQUIRE_PEERS=1`).

use aite_security::{components, scan_with, ScanOptions};

mod common;

/// The upstream part of a Debian version: no epoch, no revision, no repack suffix.
fn upstream(v: &str) -> &str {
    let v = v.split_once(':').map(|(_, r)| r).unwrap_or(v);
    let v = v.rsplit_once('-').map(|(u, _)| u).unwrap_or(v);
    v.split(['+', '~']).next().unwrap_or(v)
}

#[test]
fn debian_arm_images_are_scanned_end_to_end() {
    let Some(dest) = common::debian_rootfs() else { return };
    for (archive, container, machine) in [("rootfs-arm64.tar.xz", "xz", "AARCH64"), ("rootfs-armhf.tar.gz", "gzip", "ARM")] {
        let input = dest.join(archive);
        let work = tempfile::tempdir().unwrap();
        // One feed record that applies (fixed later than the shipped openssl) and one that does not.
        let osv: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"id": "TEST-OPENSSL-LATER-FIX", "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.9.0-1"}]}]}]},
                {"id": "TEST-OPENSSL-OLD", "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-1"}]}]}]}]"#,
        )
        .unwrap();
        let r = scan_with(&input, work.path(), &ScanOptions { osv: Some(osv), ..Default::default() }).unwrap();
        let c = &r.coverage;
        assert_eq!(c.containers[0].format, container, "{archive}: {:?}", c.containers);
        assert!(c.containers.iter().all(|k| k.status.is_extracted()), "{archive}: {:?}", c.containers);
        assert_eq!((c.not_understood_bytes, c.unclaimed_bytes, c.skipped.len()), (0, 0, 0), "{archive}");
        assert!(r.elf.len() >= 400 && r.elf.iter().all(|h| h.machine == machine), "{archive}: {} ELF files", r.elf.len());
        assert!(r.libc.as_deref().is_some_and(|l| l.ends_with("libc.so.6")), "{archive}: glibc is the image's libc: {:?}", r.libc);
        assert!(r.elf.iter().any(|h| h.fortify) && r.elf.iter().any(|h| h.fortifiable.is_some_and(|n| n > 0)), "{archive}: FORTIFY counted against the image's glibc");
        // Two independent sources agree: the dpkg database and the binaries' own version strings.
        for (binary, package) in [("busybox", "busybox"), ("openssl", "openssl"), ("lighttpd", "lighttpd"), ("dropbear", "dropbear-bin")] {
            let from_string = r.components.iter().find(|x| x.name == binary && x.ecosystem == "generic").unwrap_or_else(|| panic!("{archive}: no version string for {binary}: {:#?}", r.components));
            let from_dpkg = r.components.iter().find(|x| x.name == package && x.ecosystem == "Debian").unwrap();
            assert_eq!(from_string.version, upstream(&from_dpkg.version), "{archive}: {binary}");
        }
        assert!(r.components.iter().filter(|x| x.ecosystem == "Debian").count() >= 20, "{archive}");
        // Both binary packages built from the openssl source are affected; the old advisory is not.
        let mut hits: Vec<(&str, &str)> = r.vulnerabilities.iter().map(|v| (v.id.as_str(), v.component.split('@').next().unwrap())).collect();
        hits.sort();
        assert_eq!(hits, [("TEST-OPENSSL-LATER-FIX", "pkg:deb/debian/libssl3"), ("TEST-OPENSSL-LATER-FIX", "pkg:deb/debian/openssl")], "{archive}");
        // Format strings in dropbearconvert and libssl are not keys.
        assert!(r.findings.iter().all(|f| !(f.failed() && f.rule.starts_with("AITE-KEY"))), "{archive}: {:?}", r.findings.iter().filter(|f| f.failed() && f.rule.starts_with("AITE-KEY")).collect::<Vec<_>>());
        let bom = components::cyclonedx(archive, None, &r.components, &r.models, &r.vulnerabilities, "test");
        assert_eq!(bom["components"].as_array().unwrap().len(), r.components.len());
    }
}
