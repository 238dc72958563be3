//! A small reference root filesystem that aite builds itself, with planted
//! weaknesses, for `aite demo` and the tests: known answers without any file
//! from outside the binary.
//!
//! Planted: `admin` with the default password `admin` (DES-crypt), `service`
//! with UID 0, a setuid helper, a world-writable script, an escaping symlink,
//! a 1024-bit RSA web-UI key with an expired self-signed certificate, a
//! vendor key in root's authorized_keys, and (when given) a real ELF
//! executable. `root` has a SHA-512-crypt hash of a password not on any
//! default list.

use std::io::Write;

/// Every failing (rule, path) the reference rootfs is expected to produce, and nothing else
/// (without the executable: `build(Some(exe))` adds that ELF file's own findings).
pub const PLANTED: &[(&str, &str)] = &[
    ("AITE-CERT-EXPIRED", "etc/lighttpd/webui.crt"),
    ("AITE-CERT-SELF-SIGNED", "etc/lighttpd/webui.crt"),
    ("AITE-CRED-DEFAULT", "etc/shadow"),
    ("AITE-CRED-UID0", "etc/passwd"),
    ("AITE-CRED-WEAK-HASH", "etc/shadow"),
    ("AITE-FS-SETUID", "usr/sbin/update-helper"),
    ("AITE-FS-WORLD-WRITABLE", "etc/init.d/S99camera"),
    ("AITE-KEY-AUTHORIZED", "root/.ssh/authorized_keys"),
    ("AITE-KEY-PRIVATE", "etc/ssl/private/webui.key"),
    ("AITE-KEY-WEAK", "etc/ssl/private/webui.key"),
];

/// What the reference rootfs is expected to produce, rule by rule.
pub const EXPECTED_FAILURES: &[&str] = &[
    "AITE-CRED-DEFAULT",
    "AITE-CRED-UID0",
    "AITE-CRED-WEAK-HASH",
    "AITE-FS-SETUID",
    "AITE-FS-WORLD-WRITABLE",
    "AITE-KEY-PRIVATE",
    "AITE-KEY-WEAK",
    "AITE-KEY-AUTHORIZED",
    "AITE-CERT-EXPIRED",
    "AITE-CERT-SELF-SIGNED",
];

/// Key material planted in the reference rootfs (fixtures made by tests/fixtures/keys/make.sh).
const WEBUI_KEY: &[u8] = include_bytes!("../tests/fixtures/keys/rsa1024-pkcs1.key");
const WEBUI_CERT: &[u8] = include_bytes!("../tests/fixtures/keys/expired-self-signed.crt");

fn entry(tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, uid: u64, data: &[u8]) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, path, data)
}

fn link(tar: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    tar.append_link(&mut h, path, target)
}

/// The reference rootfs as a gzip-compressed tar. `executable` is placed at
/// `usr/bin/camera-app` (e.g. the running aite binary, a real ELF file).
#[allow(deprecated)] // DES-crypt is what such devices ship; the fixture must contain it
pub fn build(executable: Option<&[u8]>) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let des_admin = pwhash::unix_crypt::hash_with("ab", "admin").map_err(std::io::Error::other)?;
    let root = pwhash::sha512_crypt::hash_with("$6$aiteref$", "a unique per-device secret 4f1c").map_err(std::io::Error::other)?;
    entry(&mut tar, "etc/passwd", 0o644, 0, b"root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000:admin:/home/admin:/bin/sh\nservice:x:0:0:service:/:/bin/false\n")?;
    entry(&mut tar, "etc/shadow", 0o640, 0, format!("root:{root}:19000:0:99999:7:::\nadmin:{des_admin}:19000:0:99999:7:::\nservice:!:19000::::::\n").as_bytes())?;
    entry(&mut tar, "usr/sbin/update-helper", 0o4755, 0, b"#!/bin/sh\nexec /usr/bin/camera-app --update \"$@\"\n")?;
    entry(&mut tar, "etc/init.d/S99camera", 0o777, 0, b"#!/bin/sh\n/usr/bin/camera-app &\n")?;
    entry(&mut tar, "etc/ssl/private/webui.key", 0o600, 0, WEBUI_KEY)?;
    entry(&mut tar, "etc/lighttpd/webui.crt", 0o644, 0, WEBUI_CERT)?;
    entry(&mut tar, "root/.ssh/authorized_keys", 0o600, 0, b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFpdGUtcmVmZXJlbmNlLXZlbmRvci1rZXk vendor-support@factory\n")?;
    if let Some(exe) = executable {
        entry(&mut tar, "usr/bin/camera-app", 0o755, 0, exe)?;
    }
    link(&mut tar, "bin/sh", "/usr/bin/camera-app")?;
    link(&mut tar, "var/escape", "../../../../etc")?;
    let raw = tar.into_inner()?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw)?;
    gz.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_rootfs_produces_its_expected_findings() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("reference.tar.gz");
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        std::fs::write(&input, build(Some(&exe)).unwrap()).unwrap();
        let report = crate::scan(&input, &dir.path().join("work"), crate::Limits::default()).unwrap();
        let failed: std::collections::BTreeSet<&str> = report.findings.iter().filter(|f| f.failed()).map(|f| f.rule.as_str()).collect();
        for rule in EXPECTED_FAILURES {
            assert!(failed.contains(rule), "{rule} not found: {failed:?}");
        }
        let default = report.findings.iter().find(|f| f.rule == "AITE-CRED-DEFAULT").unwrap();
        assert!(default.message.contains("`admin`") && default.path == "etc/shadow", "{default:?}");
        assert!(!report.findings.iter().any(|f| f.failed() && f.message.contains("account `root` uses")), "root's password is not a default");
        assert_eq!(report.elf.len(), 1, "the test executable is the one ELF file");
        assert!(report.coverage.skipped.iter().any(|s| s.path == "var/escape"));
        assert_eq!(report.status("AITE-CRED-EMPTY"), Some(crate::RuleStatus::Pass), "{:?}", report.gaps);
    }
}
