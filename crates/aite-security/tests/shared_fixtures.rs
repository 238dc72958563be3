//! The scan on real third-party fixtures in ../shared/assets/security (see its
//! README.md for what each is and what is known about it): Coral's Edge TPU
//! model (a custom op), Keras 3 models with and without a Lambda layer, OWASP
//! IoTGoat's overlay, binwalk's format samples with the path-traversal tar,
//! and FACT_core's key material. Skips with a message when ../shared is absent
//! (fails under `AITE_REQUIRE_PEERS=1`).

mod common;

use aite_security::{scan, Limits, SecurityReport};
use std::collections::BTreeSet;
use std::path::Path;

fn scan_of(input: &Path) -> SecurityReport {
    let work = tempfile::tempdir().unwrap();
    scan(input, &work.path().join("x"), Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", input.display()))
}

/// Failing findings as (rule, path).
fn failing(r: &SecurityReport) -> BTreeSet<(String, String)> {
    r.findings.iter().filter(|f| f.failed()).map(|f| (f.rule.clone(), f.path.clone())).collect()
}

fn paths_of<'a>(failed: &'a BTreeSet<(String, String)>, rule: &str) -> Vec<&'a str> {
    failed.iter().filter(|(r, _)| r == rule).map(|(_, p)| p.as_str()).collect()
}

#[test]
fn the_edge_tpu_model_needs_a_custom_op_and_the_plain_one_does_not() {
    let Some(dir) = common::shared("models/coral") else { return };
    let r = scan_of(&dir);
    let failed = failing(&r);
    assert_eq!(paths_of(&failed, "AITE-MODEL-CUSTOM-OP"), ["mobilenet_v1_0.25_128_quant_edgetpu.tflite"], "{failed:?}");
    let custom = r.findings.iter().find(|f| f.failed() && f.rule == "AITE-MODEL-CUSTOM-OP").unwrap();
    assert!(custom.message.contains("edgetpu-custom-op"), "the op is named: {}", custom.message);
    // Both files are examined as TFLite models.
    let models: BTreeSet<&str> = r.models.iter().map(|m| m.path.as_str()).collect();
    assert!(models.contains("mobilenet_v1_0.25_128_quant.tflite") && models.contains("mobilenet_v1_0.25_128_quant_edgetpu.tflite"), "{models:?}");
}

#[test]
fn keras_lambda_layers_are_flagged_and_their_benign_twins_are_not() {
    let Some(dir) = common::shared("models/keras-generated") else { return };
    let failed = failing(&scan_of(&dir));
    assert_eq!(paths_of(&failed, "AITE-MODEL-KERAS-LAMBDA"), ["keras3_lambda.h5", "keras3_lambda.keras"], "{failed:?}");
    for benign in ["keras3_benign.h5", "keras3_benign.keras"] {
        let about: Vec<_> = failed.iter().filter(|(r, p)| p == benign && r.starts_with("AITE-MODEL-") && !r.starts_with("AITE-MODEL-UNSIGNED")).collect();
        assert!(about.is_empty(), "{benign}: {about:?}");
    }
}

#[test]
fn iotgoat_overlay_gives_its_default_password_telnet_and_weak_hashes() {
    let Some(dir) = common::shared("firmware/iotgoat-overlay") else { return };
    let r = scan_of(&dir);
    let failed = failing(&r);
    let defaults: Vec<&str> = r.findings.iter().filter(|f| f.failed() && f.rule == "AITE-CRED-DEFAULT").map(|f| f.message.as_str()).collect();
    assert_eq!(defaults.len(), 1, "only iotgoatuser's password is a default: {defaults:?}");
    assert!(defaults[0].contains("`iotgoatuser`") && defaults[0].contains("7ujMko0vizxv"), "{defaults:?}");
    assert_eq!(paths_of(&failed, "AITE-CRED-DEFAULT"), ["etc/shadow"]);
    let weak = r.findings.iter().filter(|f| f.failed() && f.rule == "AITE-CRED-WEAK-HASH").count();
    assert_eq!(weak, 2, "root and iotgoatuser are MD5-crypt: {failed:?}");
    // etc/rc.local: `telnetd -p 65534 &`.
    assert_eq!(paths_of(&failed, "AITE-SURFACE-TELNET"), ["etc/rc.local"], "{failed:?}");
}

#[test]
fn binwalk_traversal_tar_stays_inside_the_work_folder_and_reports_the_escaping_links() {
    let Some(tar) = common::shared("firmware/format-samples/binwalk2-dirtraversal.tar") else { return };
    let sandbox = tempfile::tempdir().unwrap();
    let work = sandbox.path().join("work");
    let r = scan(&tar, &work, Limits::default()).unwrap();
    // Nothing was written beside the work folder.
    let beside: Vec<_> = std::fs::read_dir(sandbox.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(beside.iter().all(|n| n == "work"), "{beside:?}");
    // The symlinks that climb out of the image (`foo -> ../../`, `subdir/foo2 -> ../../../../`) are skipped and named.
    let skipped: BTreeSet<&str> = r.coverage.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, BTreeSet::from(["foo", "subdir/foo2"]), "{:?}", r.coverage.skipped);
    assert!(r.coverage.skipped.iter().all(|s| s.reason.contains("outside the image root")), "{:?}", r.coverage.skipped);
    // The two regular files and the ls binaries are examined.
    assert!(r.elf.iter().any(|h| h.path == "ls") && r.elf.iter().any(|h| h.path == "subdir/ls2"), "{:?}", r.elf.iter().map(|h| &h.path).collect::<Vec<_>>());
}

#[test]
fn binwalk_format_samples_are_extracted_or_reported_not_examined() {
    let Some(dir) = common::shared("firmware/format-samples") else { return };
    let r = scan_of(&dir.join("binwalk3-squashfs.bin"));
    assert!(r.coverage.containers.iter().any(|c| c.format == "squashfs" && c.status.is_extracted()), "{:?}", r.coverage.containers);
    assert!(r.coverage.files > 0);
    // Formats aite has no extractor for are not silently passed.
    for sample in ["binwalk3-cramfs.bin", "binwalk3-romfs.bin", "binwalk3-yaffs2.bin", "binwalk3-arcadyan.bin"] {
        let r = scan_of(&dir.join(sample));
        let c = &r.coverage;
        assert!(c.not_understood_bytes + c.unclaimed_bytes > 0, "{sample}: {c:?}");
        assert!(failing(&r).iter().any(|(rule, _)| rule == "AITE-UNPACK-INCOMPLETE"), "{sample}: an unexamined image is incomplete: {:?}", c.containers);
    }
}

#[test]
fn fact_core_key_material_is_found() {
    let Some(dir) = common::shared("secrets/fact_core-crypto_material") else { return };
    let r = scan_of(&dir);
    let failed = failing(&r);
    eprintln!("{failed:#?}");
    assert!(paths_of(&failed, "AITE-KEY-PRIVATE").contains(&"id_rsa"), "{failed:?}");
    assert!(paths_of(&failed, "AITE-KEY-PRIVATE").contains(&"ssl.key"), "{failed:?}");
    assert!(paths_of(&failed, "AITE-KEY-PRIVATE-ENCRYPTED").contains(&"id_rsa_encrypted"), "{failed:?}");
    // Public keys and certificates are inventoried, not reported as private keys.
    for public in ["id_rsa.pub", "generic_public_key", "0x6C2DF2C5-pub.asc", "ssl.crt"] {
        assert!(!paths_of(&failed, "AITE-KEY-PRIVATE").contains(&public), "{public}: {failed:?}");
    }
    assert!(r.keys.iter().any(|k| k.path == "ssl.crt"), "the certificate is inventoried");
    // FACT_core's false-positive samples (PEM armour without a key, a broken DER) are not keys.
    for fp in ["FP_test", "pkcs_fp.file", "ssl_fp.file", "error.der"] {
        assert!(failed.iter().all(|(_, p)| p != fp), "{fp}: {failed:?}");
    }
}

/// FACT_core's `pkcs` is an unencrypted RSA-1024 private key in DER (PKCS#1;
/// `openssl pkey -inform DER -in pkcs` reads it).
#[test]
fn fact_core_der_private_key_is_found() {
    let Some(dir) = common::shared("secrets/fact_core-crypto_material") else { return };
    let failed = failing(&scan_of(&dir));
    assert!(paths_of(&failed, "AITE-KEY-PRIVATE").contains(&"pkcs") && paths_of(&failed, "AITE-KEY-WEAK").contains(&"pkcs"), "{failed:?}");
}

/// armcam bakes dropbear host keys (dropbearkey's own format, RSA-2048 and
/// ECDSA) into etc/dropbear: every camera shares them.
#[test]
fn armcam_dropbear_host_keys_are_found() {
    let Some(image) = common::shared("firmware/armcam/armcam-mini.squashfs") else { return };
    let failed = failing(&scan_of(&image));
    for key in ["etc/dropbear/dropbear_rsa_host_key", "etc/dropbear/dropbear_ecdsa_host_key"] {
        assert!(paths_of(&failed, "AITE-KEY-PRIVATE").contains(&key), "{key}: {failed:?}");
    }
}

/// A root filesystem in a temporary folder with `etc/<name>` copied from `fixture`.
fn rootfs_with(files: &[(&str, &Path)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    for (name, fixture) in files {
        std::fs::copy(fixture, root.path().join("etc").join(name)).unwrap();
    }
    root
}

/// FACT_core's users_and_passwords samples. `passwd_test` as /etc/shadow: which accounts
/// use a password of aite's default list was decided independently with Python's crypt
/// (libxcrypt) and `openssl passwd -apr1` over the same list: johndoe `123456`
/// (SHA-512-crypt), root `root` (DES), user `1234` (bcrypt), nosalt `root` (MD5-crypt, empty
/// salt); max is apr1 of `dragon` and user2 MD5-crypt of `secret`, neither in the list.
/// mosquitto's `$6$<base64>` (test) and htpasswd `{SHA}` (admin) are not verifiable.
#[test]
fn fact_core_password_samples_are_cracked_or_not_checked() {
    let Some(dir) = common::shared("secrets/fact_core-users_and_passwords") else { return };
    let root = rootfs_with(&[("shadow", &dir.join("passwd_test"))]);
    let r = scan_of(root.path());
    let defaults: BTreeSet<String> = r.findings.iter().filter(|f| f.failed() && f.rule == "AITE-CRED-DEFAULT").map(|f| f.message.clone()).collect();
    let expected: BTreeSet<String> = [("johndoe", "123456", "sha512-crypt"), ("root", "root", "des-crypt"), ("user", "1234", "bcrypt"), ("nosalt", "root", "md5-crypt")]
        .iter()
        .map(|(u, p, s)| format!("account `{u}` uses the well-known password `{p}` ({s})"))
        .collect();
    assert_eq!(defaults, expected);
    let o = r.rules.iter().find(|o| o.rule == "AITE-CRED-DEFAULT").unwrap();
    let unchecked: Vec<&str> = o.not_examined.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(unchecked, ["etc/shadow:test", "etc/shadow:admin"], "{o:?}");
    let weak: BTreeSet<String> = r.findings.iter().filter(|f| f.failed() && f.rule == "AITE-CRED-WEAK-HASH").map(|f| f.message.clone()).collect();
    assert_eq!(weak, ["account `root` is hashed with des-crypt", "account `user2` is hashed with md5-crypt", "account `nosalt` is hashed with md5-crypt"].iter().map(|s| s.to_string()).collect());
    // Twelve accounts, none with an empty field: examined, and the rule passes.
    let empty = r.rules.iter().find(|o| o.rule == "AITE-CRED-EMPTY").unwrap();
    assert_eq!((empty.status, empty.examined), (aite_security::RuleStatus::Pass, 12), "{empty:?}");

    // `passwd.bin` (binary, no line breaks) and `passwd_FP_test` (JavaScript, `user:$...`
    // with two fields) as /etc/passwd: present, not account databases aite can read.
    for (fixture, lines) in [("passwd.bin", 1), ("passwd_FP_test", 6)] {
        let root = rootfs_with(&[("passwd", &dir.join(fixture))]);
        let r = scan_of(root.path());
        for id in ["AITE-CRED-UID0", "AITE-CRED-HASH-IN-PASSWD", "AITE-CRED-EMPTY"] {
            let o = r.rules.iter().find(|o| o.rule == id).unwrap();
            assert_eq!((o.status, o.not_examined_count), (aite_security::RuleStatus::NotChecked, lines), "{fixture}: {o:?}");
            assert!(o.reason.contains("cannot parse /etc/passwd line 1"), "{fixture}: {o:?}");
        }
        assert!(failing(&r).iter().all(|(rule, _)| !rule.starts_with("AITE-CRED-")), "{fixture}: {:?}", failing(&r));
    }
}
