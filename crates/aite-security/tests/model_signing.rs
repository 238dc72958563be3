//! OpenSSF Model Signing interoperability on the reference implementation's
//! own signatures (../shared/assets/security/models/model-transparency: bundles
//! written by `model_signing` v0.2.0 to v1.1.0), and on a bundle aite signs
//! checked by the `model_signing` package itself when `AITE_PEER_PYTHON` has it.
//!
//! Skips with a message when ../shared is absent (fails under `AITE_REQUIRE_PEERS=1`).

use aite_security::signing::{self, SignatureStatus, SigningKey, VerifyingKey};
use std::path::{Path, PathBuf};

mod common;

fn samples() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/security/models/model-transparency");
    if p.is_dir() {
        Some(p)
    } else {
        common::skip_or_fail(&format!("{} is absent (see ../shared/README.md)", p.display()));
        None
    }
}

/// The model a sample signed: the folder, or its one `signme-1` file for the
/// versions that signed a single file.
fn model_of(dir: &Path) -> PathBuf {
    let payload = signing_payload(&dir.join("model.sig"));
    if payload["predicate"]["resources"][0]["name"] == "." {
        dir.join(payload["subject"][0]["name"].as_str().unwrap())
    } else {
        dir.to_path_buf()
    }
}

fn signing_payload(sig: &Path) -> serde_json::Value {
    use base64::Engine as _;
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(sig).unwrap()).unwrap();
    let raw = base64::engine::general_purpose::STANDARD.decode(b["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[test]
fn reference_key_signatures_verify_and_a_changed_file_does_not() {
    let Some(root) = samples() else { return };
    let key = VerifyingKey::from_pem_file(&root.join("keys/certificate/signing-key-pub.pem")).unwrap();
    assert_eq!(key.algorithm(), "ecdsa-p384-sha384");
    let mut checked = 0;
    for v in ["v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"] {
        let dir = root.join(format!("{v}-elliptic-key"));
        let r = signing::verify(&model_of(&dir), &dir.join("model.sig"), Some(&key), &["ignore-me".into()]).unwrap();
        assert!(r.ok(), "{v}: {r:?}");
        checked += 1;
        // Without the verifier's ignore list, v1.0.1's extra file is unsigned
        // (v1.1.0 records its ignore list in the signature itself).
        if v == "v1.0.1" {
            let r = signing::verify(&dir, &dir.join("model.sig"), Some(&key), &[]).unwrap();
            assert_eq!((r.status, r.unsigned.clone()), (SignatureStatus::FilesMismatch, vec!["ignore-me".to_string()]), "{r:?}");
        }
    }
    assert_eq!(checked, 4);
    // The hint model_signing writes is the SHA-256 of the public key PEM.
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(root.join("v1.1.0-elliptic-key/model.sig")).unwrap()).unwrap();
    assert_eq!(b["verificationMaterial"]["publicKey"]["hint"], key.hint());
    // A copy with one byte changed.
    let tmp = tempfile::tempdir().unwrap();
    for f in ["signme-1", "signme-2"] {
        std::fs::copy(root.join("v1.1.0-elliptic-key").join(f), tmp.path().join(f)).unwrap();
    }
    std::fs::write(tmp.path().join("signme-2"), b"tampered").unwrap();
    let r = signing::verify(tmp.path(), &root.join("v1.1.0-elliptic-key/model.sig"), Some(&key), &[]).unwrap();
    assert_eq!((r.status, r.changed), (SignatureStatus::FilesMismatch, vec!["signme-2".to_string()]));
}

#[test]
fn certificate_and_sigstore_bundles_verify_against_their_leaf_certificate() {
    let Some(root) = samples() else { return };
    let mut n = 0;
    for e in std::fs::read_dir(&root).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.ends_with("-certificate") || name.ends_with("-sigstore")) || !e.path().is_dir() {
            continue;
        }
        let dir = e.path();
        let r = signing::verify(&model_of(&dir), &dir.join("model.sig"), None, &["ignore-me".into()]).unwrap();
        if name.starts_with("v0.2.") {
            // model_signing 0.2 wrote the pre-1.0 Digests/v0.1 predicate.
            assert!(r.status == SignatureStatus::Malformed && r.message.contains("Digests/v0.1"), "{name}: {r:?}");
            continue;
        }
        // The bundle's own certificate is not a trust root: the files match, the signer is not verified.
        assert_eq!(r.status, SignatureStatus::SignerUnverified, "{name}: {r:?}");
        assert!(!r.ok(), "{name}: {r:?}");
        assert!(r.key_source.contains("certificate"), "{name}: {}", r.key_source);
        // The P-384 key of the certificate samples is not the Fulcio key of the sigstore ones.
        let key = VerifyingKey::from_pem_file(&root.join("keys/certificate/signing-key-pub.pem")).unwrap();
        let with_key = signing::verify(&model_of(&dir), &dir.join("model.sig"), Some(&key), &["ignore-me".into()]).unwrap();
        assert_eq!(with_key.ok(), name.ends_with("-certificate"), "{name}: {with_key:?}");
        n += 1;
    }
    assert!(n >= 7, "found {n} certificate/sigstore samples of v0.3 and later");
}

/// aite signs with the reference's own P-384 key; `model_signing` verifies it.
#[test]
fn model_signing_verifies_what_aite_signs() {
    let Some(root) = samples() else { return };
    let Some(python) = common::peer_python() else { return };
    let probe = std::process::Command::new(&python).args(["-c", "import model_signing"]).output().unwrap();
    if !probe.status.success() {
        common::skip_or_fail(&format!("model_signing is not installed for {}", python.display()));
        return;
    }
    let key = SigningKey::from_pem_file(&root.join("keys/certificate/signing-key.pem")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("camera-model");
    std::fs::create_dir_all(model.join("sub")).unwrap();
    std::fs::write(model.join("model.onnx"), b"weights").unwrap();
    std::fs::write(model.join("sub/labels.txt"), b"cat\ndog\n").unwrap();
    let sig = tmp.path().join("model.sig");
    std::fs::write(&sig, serde_json::to_vec(&signing::sign(&model, &key, &[]).unwrap()).unwrap()).unwrap();
    let verify = |model: &Path| {
        std::process::Command::new(&python)
            .args(["-m", "model_signing", "verify", "key", "--signature"])
            .arg(&sig)
            .arg("--public_key")
            .arg(root.join("keys/certificate/signing-key-pub.pem"))
            .arg(model)
            .output()
            .unwrap()
    };
    let ok = verify(&model);
    assert!(ok.status.success(), "model_signing refused aite's signature:\n{}{}", String::from_utf8_lossy(&ok.stdout), String::from_utf8_lossy(&ok.stderr));
    std::fs::write(model.join("sub/labels.txt"), b"cat\nbird\n").unwrap();
    let bad = verify(&model);
    assert!(!bad.status.success(), "model_signing accepted a changed file");
    // And aite agrees on both.
    let vk = key.verifying_key();
    assert_eq!(signing::verify(&model, &sig, Some(&vk), &[]).unwrap().changed, vec!["sub/labels.txt".to_string()]);
}
