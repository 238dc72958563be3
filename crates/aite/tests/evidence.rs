//! `aite keygen`, `aite sign-evidence` and `aite verify` on a package built by
//! hand (a few files and a manifest through `RunFolder`): exit codes, every
//! changed, missing and extra file named, wrong keys, unsigned packages, bad
//! input naming the file.

mod common;
use common::*;
use std::path::{Path, PathBuf};

const SIGNER: &str = "Jane Doe, Test Engineer";

fn package(out: &Path) -> PathBuf {
    let run = aite_evidence::RunFolder::create(out, "run").unwrap();
    run.write_json("results.json", &serde_json::json!({"schema": "aite.results/v1", "run_id": "r-7", "command": "run", "status": "complete", "suites": {}})).unwrap();
    run.write_json("assessment.json", &serde_json::json!({"profile": "ai-camera", "overall": "FAIL"})).unwrap();
    run.write_bytes("latency-samples.csv", b"query,latency_ns\n0,1200345\n").unwrap();
    run.write_json("config.json", &serde_json::json!({"fps": 15})).unwrap();
    run.finish().unwrap();
    run.path().to_path_buf()
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.pem"));
    let r = run(aite().arg("keygen").arg("--out").arg(&key));
    assert_eq!(r.code, 0, "{}", r.stderr);
    (key, dir.join(format!("{name}.pub.pem")))
}

fn verify(pkg: &Path, public: &Path) -> Run {
    run(aite().arg("verify").arg(pkg).arg("--public-key").arg(public))
}

fn flip_bit(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites() {
    let t = tempfile::tempdir().unwrap();
    let (key, public) = keygen(t.path(), "lab");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&key).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(std::fs::read_to_string(&public).unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
    let before = std::fs::read(&key).unwrap();
    let r = run(aite().arg("keygen").arg("--out").arg(&key));
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("lab.pem exists"), "{}", r.stderr);
    assert_eq!(std::fs::read(&key).unwrap(), before);
    // The public half existing alone is refused too, and nothing is written.
    std::fs::write(t.path().join("other.pub.pem"), "x").unwrap();
    let r = run(aite().arg("keygen").arg("--out").arg(t.path().join("other.pem")));
    assert_eq!(r.code, 2);
    assert!(!t.path().join("other.pem").exists());
}

#[test]
fn a_signed_package_verifies_and_each_change_is_named_with_exit_10() {
    let t = tempfile::tempdir().unwrap();
    let (key, public) = keygen(t.path(), "lab");
    let pkg = package(&t.path().join("runs"));
    let r = run(aite().arg("sign-evidence").arg(&pkg).arg("--key").arg(&key).args(["--signer", SIGNER]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("(5 files), signed by \"Jane Doe, Test Engineer\" at 20"), "{}", r.stdout);
    assert!(r.stdout.contains("run r-7 (complete), assessment ai-camera: FAIL"), "{}", r.stdout);
    assert!(pkg.join("evidence.intoto.dsse.json").is_file());

    let r = verify(&pkg, &public);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(": VERIFIED (5 files)") && r.stdout.contains("signed by \"Jane Doe, Test Engineer\""), "{}", r.stdout);

    for name in ["results.json", "latency-samples.csv", "assessment.json", "manifest.json"] {
        let saved = std::fs::read(pkg.join(name)).unwrap();
        flip_bit(&pkg.join(name));
        let r = verify(&pkg, &public);
        assert_eq!(r.code, 10, "{name}: {}", r.stdout);
        assert!(r.stdout.contains(": TAMPERED: 1 changed, 0 missing, 0 extra (of 5 signed files)"), "{name}: {}", r.stdout);
        assert!(r.stdout.lines().any(|l| l.trim() == format!("changed: {name}")), "{name}: {}", r.stdout);
        std::fs::write(pkg.join(name), saved).unwrap();
    }
    assert_eq!(verify(&pkg, &public).code, 0, "restored files verify again");

    std::fs::remove_file(pkg.join("config.json")).unwrap();
    std::fs::write(pkg.join("notes.txt"), "added after signing").unwrap();
    let r = verify(&pkg, &public);
    assert_eq!(r.code, 10);
    assert!(r.stdout.contains("  missing: config.json") && r.stdout.contains("  extra: notes.txt"), "{}", r.stdout);
    let r = run(aite().arg("verify").arg(&pkg).arg("--public-key").arg(&public).arg("--json"));
    assert_eq!(r.code, 10);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["verification"]["outcome"], "tampered");
    assert_eq!(j["verification"]["missing"], serde_json::json!(["config.json"]));
    assert_eq!(j["verification"]["extra"], serde_json::json!(["notes.txt"]));
    assert_eq!(j["verification"]["predicate"]["signer"]["role"], "Test Engineer");
}

#[test]
fn the_envelope_itself_is_checked() {
    let t = tempfile::tempdir().unwrap();
    let (key, public) = keygen(t.path(), "lab");
    let pkg = package(&t.path().join("runs"));
    assert_eq!(run(aite().arg("sign-evidence").arg(&pkg).arg("--key").arg(&key).args(["--signer", SIGNER])).code, 0);
    let envelope = pkg.join("evidence.intoto.dsse.json");
    let saved = std::fs::read(&envelope).unwrap();

    // Another key: not this signer.
    let (_, other) = keygen(t.path(), "other");
    let r = verify(&pkg, &other);
    assert_eq!(r.code, 10);
    assert!(r.stdout.contains(": BAD_SIGNATURE: ") && r.stdout.contains("not by the given key"), "{}", r.stdout);

    // The signature's first base64 digit changed: its first byte differs.
    let mut env: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    let sig = env["signatures"][0]["sig"].as_str().unwrap().to_string();
    let first = if sig.starts_with('A') { "B" } else { "A" };
    env["signatures"][0]["sig"] = format!("{first}{}", &sig[1..]).into();
    std::fs::write(&envelope, serde_json::to_vec(&env).unwrap()).unwrap();
    let r = verify(&pkg, &public);
    assert_eq!(r.code, 10);
    assert!(r.stdout.contains(": BAD_SIGNATURE: ") && r.stdout.contains("evidence.intoto.dsse.json"), "{}", r.stdout);

    // Not JSON at all.
    std::fs::write(&envelope, b"{ truncated").unwrap();
    let r = verify(&pkg, &public);
    assert_eq!(r.code, 10);
    assert!(r.stdout.contains(": MALFORMED: ") && r.stdout.contains("evidence.intoto.dsse.json"), "{}", r.stdout);

    // No envelope.
    std::fs::remove_file(&envelope).unwrap();
    let r = verify(&pkg, &public);
    assert_eq!(r.code, 10);
    assert!(r.stdout.contains(": UNSIGNED: no evidence.intoto.dsse.json"), "{}", r.stdout);
}

#[test]
fn bad_keys_signers_and_packages_are_errors_naming_what_is_wrong() {
    let t = tempfile::tempdir().unwrap();
    let (key, public) = keygen(t.path(), "lab");
    let pkg = package(&t.path().join("runs"));
    let sign = |k: &Path, signer: &str| run(aite().arg("sign-evidence").arg(&pkg).arg("--key").arg(k).args(["--signer", signer]));

    let r = sign(&key, "Jane Doe");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("Name, Role"), "{}", r.stderr);
    let r = sign(&public, SIGNER);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("lab.pub.pem") && r.stderr.contains("public key"), "{}", r.stderr);
    let r = sign(&t.path().join("absent.pem"), SIGNER);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("absent.pem"), "{}", r.stderr);
    let r = verify(&pkg, &key);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("lab.pem") && r.stderr.contains("private key"), "{}", r.stderr);

    std::os::unix::fs::symlink("/etc/hostname", pkg.join("host")).unwrap();
    let r = sign(&key, SIGNER);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("host") && r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert!(!pkg.join("evidence.intoto.dsse.json").exists());
}

#[test]
fn a_key_made_by_openssl_signs_and_verifies() {
    let ok = std::process::Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !ok {
        let why = "openssl is not installed (Debian: apt-get install openssl): skipped";
        assert!(std::env::var_os("AITE_REQUIRE_PEERS").is_none_or(|v| v != "1"), "AITE_REQUIRE_PEERS=1: {why}");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| assert!(std::process::Command::new("openssl").args(args).current_dir(t.path()).status().unwrap().success());
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "o.pem"]);
    openssl(&["pkey", "-in", "o.pem", "-pubout", "-out", "o.pub.pem"]);
    let pkg = package(&t.path().join("runs"));
    let r = run(aite().arg("sign-evidence").arg(&pkg).arg("--key").arg(t.path().join("o.pem")).args(["--signer", SIGNER]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(verify(&pkg, &t.path().join("o.pub.pem")).code, 0);
}
