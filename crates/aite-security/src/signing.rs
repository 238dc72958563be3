//! OpenSSF Model Signing (v1.0 predicate): create and verify signatures of
//! model files and folders, offline, with keys.
//!
//! A signature is a Sigstore bundle (v0.3 media type) holding a DSSE envelope
//! whose payload is an in-toto Statement v1: one subject named after the
//! model, whose SHA-256 digest is taken over the resource digests in name
//! order, and the predicate `https://model_signing/signature/v1.0` listing
//! every file (`resources`: name, algorithm, digest) and how they were
//! serialised (`method: files`, `hash_type: sha256`, `ignore_paths`).
//! The DSSE signature covers the pre-authentication encoding (PAE) of the
//! payload. Keys: Ed25519, ECDSA P-256 (SHA-256) and P-384 (SHA-384), as the
//! reference `model_signing` package signs them.
//!
//! Bundles signed with a certificate (x509 chain or Sigstore keyless) are
//! checked against the key in their leaf certificate; the chain, identity and
//! transparency-log checks need trust roots and are reported as not done.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The file name `model_signing` uses for a signature by default.
pub const DEFAULT_SIGNATURE_NAME: &str = "model.sig";
/// Paths `model_signing` always leaves out of a folder's manifest.
pub const DEFAULT_IGNORED: &[&str] = &[".git", ".gitattributes", ".github", ".gitignore"];

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("{path} is a symbolic link; model signatures cover regular files only (remove the link or sign its target)")]
    Symlink { path: PathBuf },
    #[error("{path} is not a signature bundle: {reason}")]
    Bundle { path: PathBuf, reason: String },
}

/// One file of the model and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Path relative to the model folder, `/`-separated (`.` for a single-file model).
    pub name: String,
    pub algorithm: String,
    /// Lower-case hex.
    pub digest: String,
}

/// The files a signature covers, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The subject name: the model folder's (or file's) name.
    pub model_name: String,
    pub resources: Vec<Resource>,
    pub ignore_paths: Vec<String>,
}

impl Manifest {
    /// SHA-256 over the resource digests in name order: the statement's subject digest.
    pub fn root_digest(&self) -> String {
        let mut h = Sha256::new();
        for r in &self.resources {
            h.update(hex::decode(&r.digest).unwrap_or_default());
        }
        hex::encode(h.finalize())
    }
}

fn sha256_file(path: &Path) -> Result<String, SigningError> {
    let mut f = std::fs::File::open(path).map_err(|source| SigningError::Io { path: path.into(), source })?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|source| SigningError::Io { path: path.into(), source })?;
    Ok(hex::encode(h.finalize()))
}

/// Whether `rel` (relative, `/`-separated) is `ignored` or inside it.
fn is_ignored(rel: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|i| {
        let i = i.trim_start_matches("./").trim_end_matches('/');
        rel == i || rel.starts_with(&format!("{i}/"))
    })
}

/// The manifest of a model on disk: a single file, or every regular file under
/// a folder except `ignore` (relative paths or bare names) and the defaults.
pub fn manifest(model: &Path, ignore: &[String]) -> Result<Manifest, SigningError> {
    let io = |source| SigningError::Io { path: model.into(), source };
    let meta = std::fs::symlink_metadata(model).map_err(io)?;
    let model_name = model.canonicalize().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).unwrap_or_else(|| model.display().to_string());
    let mut ignore_paths: Vec<String> = ignore.iter().map(|i| i.trim_start_matches("./").trim_end_matches('/').to_string()).collect();
    for d in DEFAULT_IGNORED {
        if !ignore_paths.iter().any(|i| i == d) {
            ignore_paths.push(d.to_string());
        }
    }
    if meta.is_file() {
        return Ok(Manifest { model_name, resources: vec![Resource { name: ".".into(), algorithm: "sha256".into(), digest: sha256_file(model)? }], ignore_paths });
    }
    let mut resources = Vec::new();
    let mut stack = vec![model.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).map_err(|source| SigningError::Io { path: dir.clone(), source })? {
            let e = e.map_err(|source| SigningError::Io { path: dir.clone(), source })?;
            let p = e.path();
            let rel = p.strip_prefix(model).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            if is_ignored(&rel, &ignore_paths) {
                continue;
            }
            let ft = e.file_type().map_err(|source| SigningError::Io { path: p.clone(), source })?;
            if ft.is_symlink() {
                return Err(SigningError::Symlink { path: p });
            } else if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                resources.push(Resource { name: rel, algorithm: "sha256".into(), digest: sha256_file(&p)? });
            }
        }
    }
    resources.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Manifest { model_name, resources, ignore_paths })
}

/// The manifest of files given by name (relative to the model root) and
/// content, as found inside a scanned image. A single file is signed as `.`.
pub fn manifest_of_files(model_name: &str, files: &[(String, PathBuf)], ignore: &[String]) -> Result<Manifest, SigningError> {
    let mut resources = Vec::new();
    for (name, content) in files {
        if is_ignored(name, ignore) {
            continue;
        }
        resources.push(Resource { name: name.clone(), algorithm: "sha256".into(), digest: sha256_file(content)? });
    }
    resources.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Manifest { model_name: model_name.into(), resources, ignore_paths: ignore.to_vec() })
}

/// DSSE pre-authentication encoding: the workspace's one implementation, shared
/// with signed evidence packages.
pub use aite_evidence::attest::pae;

/// The in-toto statement for a manifest, as `model_signing` writes it.
pub fn statement(m: &Manifest) -> serde_json::Value {
    serde_json::json!({
        "_type": STATEMENT_TYPE,
        "subject": [{ "name": m.model_name, "digest": { "sha256": m.root_digest() } }],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": { "method": "files", "hash_type": "sha256", "allow_symlinks": false, "ignore_paths": m.ignore_paths },
            "resources": m.resources,
        }
    })
}

/// A signing key: Ed25519, ECDSA P-256 or P-384.
pub enum SigningKey {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// A verification key of the same three kinds.
#[derive(Debug, Clone)]
pub enum VerifyingKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

fn key_error(path: &Path, what: &str) -> SigningError {
    SigningError::Key { path: path.into(), reason: format!("not {what} aite can use: give a PEM file with an Ed25519, ECDSA P-256 or P-384 key (PKCS#8, SEC1 or SubjectPublicKeyInfo), e.g. from `openssl genpkey -algorithm ed25519`") }
}

/// The PEM block with `label` inside `text` (files may carry readable dumps around it).
fn pem_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let s = text.find(&begin)?;
    let e = text[s..].find(&end)? + s + end.len();
    Some(&text[s..e])
}

impl SigningKey {
    /// Read a private key from a PEM file.
    pub fn from_pem_file(path: &Path) -> Result<Self, SigningError> {
        use p256::pkcs8::DecodePrivateKey;
        let text = std::fs::read_to_string(path).map_err(|source| SigningError::Io { path: path.into(), source })?;
        if let Some(b) = pem_block(&text, "PRIVATE KEY") {
            if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(b) {
                return Ok(SigningKey::Ed25519(k));
            }
            if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(b) {
                return Ok(SigningKey::P256(k));
            }
            if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_pem(b) {
                return Ok(SigningKey::P384(k));
            }
        }
        if let Some(b) = pem_block(&text, "EC PRIVATE KEY") {
            if let Ok(k) = p256::SecretKey::from_sec1_pem(b) {
                return Ok(SigningKey::P256(k.into()));
            }
            if let Ok(k) = p384::SecretKey::from_sec1_pem(b) {
                return Ok(SigningKey::P384(k.into()));
            }
        }
        Err(key_error(path, "a private key"))
    }

    /// A fresh Ed25519 key from the operating system's random source.
    pub fn generate_ed25519() -> Self {
        SigningKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The private key as PKCS#8 PEM (Ed25519 as PKCS#8 v1, the form OpenSSL reads).
    pub fn to_pem(&self) -> String {
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        let r = match self {
            SigningKey::Ed25519(k) => return aite_evidence::attest::key_to_pem(k).0,
            SigningKey::P256(k) => k.to_pkcs8_pem(LineEnding::LF),
            SigningKey::P384(k) => k.to_pkcs8_pem(LineEnding::LF),
        };
        r.map(|z| z.to_string()).unwrap_or_default()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::Ed25519(k) => VerifyingKey::Ed25519(k.verifying_key()),
            SigningKey::P256(k) => VerifyingKey::P256(*k.verifying_key()),
            SigningKey::P384(k) => VerifyingKey::P384(*k.verifying_key()),
        }
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer;
        match self {
            SigningKey::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            SigningKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
            SigningKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(msg);
                s.to_der().as_bytes().to_vec()
            }
        }
    }
}

impl VerifyingKey {
    /// Read a public key (SubjectPublicKeyInfo PEM) or take the key of a certificate.
    pub fn from_pem_file(path: &Path) -> Result<Self, SigningError> {
        let text = std::fs::read_to_string(path).map_err(|source| SigningError::Io { path: path.into(), source })?;
        if let Some(b) = pem_block(&text, "PUBLIC KEY") {
            let der = pem_der(b);
            if let Some(k) = der.as_deref().and_then(Self::from_spki_der) {
                return Ok(k);
            }
        }
        if let Some(b) = pem_block(&text, "CERTIFICATE") {
            if let Some(k) = pem_der(b).as_deref().and_then(Self::from_certificate_der) {
                return Ok(k);
            }
        }
        Err(key_error(path, "a public key"))
    }

    /// From DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Option<Self> {
        use p256::pkcs8::DecodePublicKey;
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_der(der) {
            return Some(VerifyingKey::Ed25519(k));
        }
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Some(VerifyingKey::P256(k));
        }
        p384::ecdsa::VerifyingKey::from_public_key_der(der).ok().map(VerifyingKey::P384)
    }

    /// The subject key of a DER certificate.
    pub fn from_certificate_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        Self::from_spki_der(cert.public_key().raw)
    }

    /// `ed25519`, `ecdsa-p256-sha256` or `ecdsa-p384-sha384`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            VerifyingKey::Ed25519(_) => "ed25519",
            VerifyingKey::P256(_) => "ecdsa-p256-sha256",
            VerifyingKey::P384(_) => "ecdsa-p384-sha384",
        }
    }

    /// The public key as SubjectPublicKeyInfo PEM (LF line ends, as `cryptography` writes it).
    pub fn to_pem(&self) -> String {
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        let r = match self {
            VerifyingKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
            VerifyingKey::P256(k) => k.to_public_key_pem(LineEnding::LF),
            VerifyingKey::P384(k) => k.to_public_key_pem(LineEnding::LF),
        };
        r.unwrap_or_default()
    }

    /// The bundle's key hint: SHA-256 of the public key PEM.
    pub fn hint(&self) -> String {
        hex::encode(Sha256::digest(self.to_pem().as_bytes()))
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier;
        match self {
            VerifyingKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig).is_ok_and(|s| k.verify(msg, &s).is_ok()),
            VerifyingKey::P256(k) => p256::ecdsa::Signature::from_der(sig).or_else(|_| p256::ecdsa::Signature::from_slice(sig)).is_ok_and(|s| k.verify(msg, &s).is_ok()),
            VerifyingKey::P384(k) => p384::ecdsa::Signature::from_der(sig).or_else(|_| p384::ecdsa::Signature::from_slice(sig)).is_ok_and(|s| k.verify(msg, &s).is_ok()),
        }
    }
}

fn pem_der(block: &str) -> Option<Vec<u8>> {
    let body: String = block.lines().filter(|l| !l.starts_with("-----") && !l.contains(':')).collect::<Vec<_>>().concat();
    B64.decode(body.trim()).ok()
}

/// Sign `model` (file or folder) and return the bundle JSON.
pub fn sign(model: &Path, key: &SigningKey, ignore: &[String]) -> Result<serde_json::Value, SigningError> {
    sign_with_manifest(model, key, ignore).map(|(b, _)| b)
}

/// [`sign`], also returning the manifest that was signed.
pub fn sign_with_manifest(model: &Path, key: &SigningKey, ignore: &[String]) -> Result<(serde_json::Value, Manifest), SigningError> {
    let m = manifest(model, ignore)?;
    let payload = serde_json::to_vec_pretty(&statement(&m)).unwrap_or_default();
    let sig = key.sign(&pae(PAYLOAD_TYPE, &payload));
    let bundle = serde_json::json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": { "publicKey": { "hint": key.verifying_key().hint() }, "tlogEntries": [] },
        "dsseEnvelope": {
            "payload": B64.encode(&payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{ "sig": B64.encode(sig), "keyid": "" }]
        }
    });
    Ok((bundle, m))
}

/// How a signature check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureStatus {
    /// Signature valid and every file matches.
    Verified,
    /// Signature valid, but files changed, appeared or disappeared.
    FilesMismatch,
    /// The signature does not verify with the key.
    BadSignature,
    /// The bundle is not a model signature aite can read.
    Malformed,
    /// A signature exists but no key was given to check it with.
    NoKey,
    /// The signature holds for the certificate the bundle carries and every
    /// file matches, but nothing vouches for that certificate: a bundle's own
    /// certificate is no trust root (anyone can re-sign a changed model with
    /// a certificate of their own). Give the trusted key or certificate.
    SignerUnverified,
}

/// The outcome of verifying one model against one signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub status: SignatureStatus,
    /// Where the verification key came from: `key`, `certificate (chain not validated)`.
    pub key_source: String,
    pub algorithm: Option<String>,
    /// Files the signature lists.
    pub signed_files: usize,
    /// Files whose digest differs.
    pub changed: Vec<String>,
    /// Signed files that are gone.
    pub missing: Vec<String>,
    /// Files present but not signed.
    pub unsigned: Vec<String>,
    pub message: String,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.status == SignatureStatus::Verified
    }
}

struct Envelope {
    payload: Vec<u8>,
    payload_type: String,
    sigs: Vec<Vec<u8>>,
    /// Leaf certificate DER, when the bundle carries one.
    certificate: Option<Vec<u8>>,
}

fn read_bundle(path: &Path, text: &[u8]) -> Result<Envelope, SigningError> {
    let bad = |reason: &str| SigningError::Bundle { path: path.into(), reason: reason.into() };
    let v: serde_json::Value = serde_json::from_slice(text).map_err(|e| bad(&format!("not JSON ({e})")))?;
    let env = v.get("dsseEnvelope").ok_or_else(|| bad("no dsseEnvelope (message-signature bundles are not model signatures)"))?;
    let payload = env.get("payload").and_then(|p| p.as_str()).and_then(|p| B64.decode(p).ok()).ok_or_else(|| bad("dsseEnvelope.payload missing or not base64"))?;
    let payload_type = env.get("payloadType").and_then(|p| p.as_str()).unwrap_or_default().to_string();
    let sigs: Vec<Vec<u8>> = env.get("signatures").and_then(|s| s.as_array()).map(|a| a.iter().filter_map(|s| s.get("sig")?.as_str().and_then(|x| B64.decode(x).ok())).collect()).unwrap_or_default();
    if sigs.is_empty() {
        return Err(bad("dsseEnvelope has no signatures"));
    }
    let vm = v.get("verificationMaterial");
    let certificate = vm
        .and_then(|m| m.pointer("/certificate/rawBytes").or_else(|| m.pointer("/x509CertificateChain/certificates/0/rawBytes")))
        .and_then(|c| c.as_str())
        .and_then(|c| B64.decode(c).ok());
    Ok(Envelope { payload, payload_type, sigs, certificate })
}

/// Where `file` (which need not exist yet) lies inside the folder `model`, as a
/// relative path: a signature kept inside the model folder is not part of it.
pub fn path_inside(model: &Path, file: &Path) -> Option<String> {
    let model = model.canonicalize().ok()?;
    let parent = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let full = parent.canonicalize().ok()?.join(file.file_name()?);
    full.strip_prefix(&model).ok().map(|r| r.to_string_lossy().into_owned())
}

/// Verify `model` against the bundle at `signature`. With `key` `None`, a
/// bundle carrying a certificate is checked against the certificate's key, and
/// at best ends [`SignatureStatus::SignerUnverified`] (never verified);
/// without a certificate the result is [`SignatureStatus::NoKey`]. `ignore` adds paths to
/// those the signature itself lists as ignored.
pub fn verify(model: &Path, signature: &Path, key: Option<&VerifyingKey>, ignore: &[String]) -> Result<Verification, SigningError> {
    let text = std::fs::read(signature).map_err(|source| SigningError::Io { path: signature.into(), source })?;
    let mut ignore = ignore.to_vec();
    // The signature file itself is never part of the model.
    ignore.extend(path_inside(model, signature));
    verify_bundle(signature, &text, key, &ignore, |ignores| manifest(model, ignores))
}

/// Verify a bundle's bytes against the model's current files, which
/// `current` lists given the paths to ignore (a folder on disk, or files
/// inside a scanned image).
pub fn verify_bundle(
    signature: &Path,
    bundle: &[u8],
    key: Option<&VerifyingKey>,
    ignore: &[String],
    current: impl FnOnce(&[String]) -> Result<Manifest, SigningError>,
) -> Result<Verification, SigningError> {
    let env = match read_bundle(signature, bundle) {
        Ok(e) => e,
        Err(e) => return Ok(outcome(SignatureStatus::Malformed, "", None, e.to_string())),
    };
    let cert_key = env.certificate.as_deref().and_then(VerifyingKey::from_certificate_der);
    // Only a key the user gives is trusted; the bundle's certificate only says who claims to have signed.
    let trusted = key.is_some();
    let (key, source) = match (key, &cert_key) {
        (Some(k), _) => (k, "key"),
        (None, Some(k)) => (k, "the bundle's own certificate (not a trust root; chain, identity and transparency log not validated offline)"),
        (None, None) => return Ok(outcome(SignatureStatus::NoKey, "", None, "signature present; give the public key to verify it".into())),
    };
    // Pre-1.0 model_signing (predicate Digests/v0.1) signed a different encoding: say so
    // rather than calling the signature bad.
    let legacy = serde_json::from_slice::<serde_json::Value>(&env.payload).ok().and_then(|st| st["predicateType"].as_str().map(str::to_string)).filter(|t| t.starts_with("https://model_signing/Digests/"));
    if let Some(t) = legacy {
        return Ok(outcome(SignatureStatus::Malformed, source, Some(key), format!("predicate {t} (model_signing before 1.0) is not supported: re-sign with model_signing >= 1.0 or `aite sign`")));
    }
    let message = pae(&env.payload_type, &env.payload);
    if !env.sigs.iter().any(|s| key.verify(&message, s)) {
        return Ok(outcome(SignatureStatus::BadSignature, source, Some(key), format!("the signature does not verify with this {} key", key.algorithm())));
    }
    let st: serde_json::Value = match serde_json::from_slice(&env.payload) {
        Ok(v) => v,
        Err(e) => return Ok(outcome(SignatureStatus::Malformed, source, Some(key), format!("signed payload is not JSON: {e}"))),
    };
    if env.payload_type != PAYLOAD_TYPE || st["_type"] != STATEMENT_TYPE || st["predicateType"] != PREDICATE_TYPE {
        return Ok(outcome(SignatureStatus::Malformed, source, Some(key), format!("signed payload is not a model signature statement (payloadType {}, predicateType {})", env.payload_type, st["predicateType"])));
    }
    let signed: Vec<Resource> = match serde_json::from_value(st["predicate"]["resources"].clone()) {
        Ok(r) => r,
        Err(e) => return Ok(outcome(SignatureStatus::Malformed, source, Some(key), format!("predicate.resources: {e}"))),
    };
    if st["predicate"]["serialization"]["method"] != "files" {
        return Ok(outcome(SignatureStatus::Malformed, source, Some(key), format!("serialization method {} is not supported (aite verifies `files`)", st["predicate"]["serialization"]["method"])));
    }
    // The subject digest must be the digest of the listed resources.
    let listed = Manifest { model_name: String::new(), resources: signed.clone(), ignore_paths: vec![] };
    if st["subject"][0]["digest"]["sha256"] != listed.root_digest() {
        return Ok(outcome(SignatureStatus::Malformed, source, Some(key), "subject digest does not match the listed files".into()));
    }
    let mut ignores: Vec<String> = ignore.to_vec();
    if let Some(a) = st["predicate"]["serialization"]["ignore_paths"].as_array() {
        ignores.extend(a.iter().filter_map(|x| x.as_str().map(str::to_string)));
    }
    let now = current(&ignores)?;
    let mut v = outcome(SignatureStatus::Verified, source, Some(key), String::new());
    v.signed_files = signed.len();
    for r in &signed {
        match now.resources.iter().find(|n| n.name == r.name) {
            None => v.missing.push(r.name.clone()),
            Some(n) if n.digest != r.digest.to_ascii_lowercase() => v.changed.push(r.name.clone()),
            Some(_) => {}
        }
    }
    v.unsigned = now.resources.iter().filter(|n| !signed.iter().any(|r| r.name == n.name)).map(|n| n.name.clone()).collect();
    if v.changed.is_empty() && v.missing.is_empty() && v.unsigned.is_empty() {
        v.message = format!("{} file(s) verified with {} ({})", v.signed_files, key.algorithm(), source);
        if !trusted {
            v.status = SignatureStatus::SignerUnverified;
            v.message = format!("{} file(s) match a signature made with the bundle's own certificate, but the signer is not verified: give the trusted public key or certificate (--model-key)", v.signed_files);
        }
    } else {
        v.status = SignatureStatus::FilesMismatch;
        v.message = format!("signature valid, but {} changed, {} missing, {} not signed", v.changed.len(), v.missing.len(), v.unsigned.len());
    }
    Ok(v)
}

fn outcome(status: SignatureStatus, source: &str, key: Option<&VerifyingKey>, message: String) -> Verification {
    Verification { status, key_source: source.into(), algorithm: key.map(|k| k.algorithm().to_string()), signed_files: 0, changed: vec![], missing: vec![], unsigned: vec![], message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("model.onnx"), b"weights v1").unwrap();
        std::fs::create_dir_all(d.path().join("tokenizer")).unwrap();
        std::fs::write(d.path().join("tokenizer/vocab.txt"), b"a\nb\n").unwrap();
        std::fs::create_dir_all(d.path().join(".git")).unwrap();
        std::fs::write(d.path().join(".git/HEAD"), b"ref").unwrap();
        d
    }

    fn keys() -> Vec<SigningKey> {
        vec![
            SigningKey::generate_ed25519(),
            SigningKey::P256(p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng)),
            SigningKey::P384(p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng)),
        ]
    }

    fn write_sig(dir: &Path, bundle: &serde_json::Value) -> PathBuf {
        let p = dir.join(DEFAULT_SIGNATURE_NAME);
        std::fs::write(&p, serde_json::to_vec(bundle).unwrap()).unwrap();
        p
    }

    #[test]
    fn pae_is_the_dsse_encoding() {
        assert_eq!(pae("http://example.com/HelloWorld", b"hello world"), b"DSSEv1 29 http://example.com/HelloWorld 11 hello world");
    }

    #[test]
    fn signed_models_verify_with_every_key_type_and_keys_round_trip_through_pem() {
        for key in keys() {
            let d = model();
            let bundle = sign(d.path(), &key, &[DEFAULT_SIGNATURE_NAME.into()]).unwrap();
            let sig = write_sig(d.path(), &bundle);
            // Through PEM files, as users hand them over.
            let pub_pem = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(pub_pem.path(), key.verifying_key().to_pem()).unwrap();
            let vk = VerifyingKey::from_pem_file(pub_pem.path()).unwrap();
            let v = verify(d.path(), &sig, Some(&vk), &[]).unwrap();
            assert!(v.ok(), "{}: {v:?}", vk.algorithm());
            assert_eq!(v.signed_files, 2, "model.onnx and tokenizer/vocab.txt; .git is ignored");
            let priv_pem = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(priv_pem.path(), key.to_pem()).unwrap();
            let again = SigningKey::from_pem_file(priv_pem.path()).unwrap();
            assert_eq!(again.verifying_key().to_pem(), key.verifying_key().to_pem());
            assert_eq!(bundle["verificationMaterial"]["publicKey"]["hint"], vk.hint());
        }
    }

    #[test]
    fn tampering_is_named_file_by_file() {
        let key = SigningKey::generate_ed25519();
        let vk = key.verifying_key();
        let d = model();
        let sig = write_sig(d.path(), &sign(d.path(), &key, &[DEFAULT_SIGNATURE_NAME.into()]).unwrap());
        std::fs::write(d.path().join("model.onnx"), b"weights v2").unwrap();
        std::fs::remove_file(d.path().join("tokenizer/vocab.txt")).unwrap();
        std::fs::write(d.path().join("backdoor.py"), b"import os").unwrap();
        let v = verify(d.path(), &sig, Some(&vk), &[]).unwrap();
        assert_eq!(v.status, SignatureStatus::FilesMismatch);
        assert_eq!((v.changed, v.missing, v.unsigned), (vec!["model.onnx".to_string()], vec!["tokenizer/vocab.txt".to_string()], vec!["backdoor.py".to_string()]));
        // Extra paths to ignore are the verifier's choice.
        let v = verify(d.path(), &sig, Some(&vk), &["backdoor.py".into()]).unwrap();
        assert!(v.unsigned.is_empty());
    }

    #[test]
    fn a_tampered_model_re_signed_by_someone_else_fails() {
        let release = SigningKey::generate_ed25519();
        let d = model();
        write_sig(d.path(), &sign(d.path(), &release, &[DEFAULT_SIGNATURE_NAME.into()]).unwrap());
        std::fs::write(d.path().join("model.onnx"), b"backdoored weights").unwrap();
        // The attacker re-signs the changed folder with a key of their own.
        let attacker = SigningKey::generate_ed25519();
        let sig = write_sig(d.path(), &sign(d.path(), &attacker, &[DEFAULT_SIGNATURE_NAME.into()]).unwrap());
        let v = verify(d.path(), &sig, Some(&release.verifying_key()), &[]).unwrap();
        assert_eq!(v.status, SignatureStatus::BadSignature, "{v:?}");
        assert!(!v.ok());
        // Without the release key nothing is verified either.
        assert!(!verify(d.path(), &sig, None, &[]).unwrap().ok());
    }

    #[test]
    fn wrong_keys_forged_payloads_and_garbage_are_told_apart() {
        let key = SigningKey::P256(p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng));
        let d = model();
        let bundle = sign(d.path(), &key, &[DEFAULT_SIGNATURE_NAME.into()]).unwrap();
        let sig = write_sig(d.path(), &bundle);
        let other = SigningKey::generate_ed25519().verifying_key();
        assert_eq!(verify(d.path(), &sig, Some(&other), &[]).unwrap().status, SignatureStatus::BadSignature);
        assert_eq!(verify(d.path(), &sig, None, &[]).unwrap().status, SignatureStatus::NoKey);
        // A payload swapped after signing.
        let mut forged = bundle.clone();
        let mut st = statement(&manifest(d.path(), &[]).unwrap());
        st["predicate"]["resources"][0]["digest"] = serde_json::json!("00".repeat(32));
        forged["dsseEnvelope"]["payload"] = serde_json::json!(B64.encode(serde_json::to_vec(&st).unwrap()));
        let sig = write_sig(d.path(), &forged);
        assert_eq!(verify(d.path(), &sig, Some(&key.verifying_key()), &[]).unwrap().status, SignatureStatus::BadSignature);
        for junk in [&b"not json"[..], b"{}", br#"{"dsseEnvelope":{"payload":"!!","signatures":[]}}"#] {
            std::fs::write(&sig, junk).unwrap();
            assert_eq!(verify(d.path(), &sig, Some(&key.verifying_key()), &[]).unwrap().status, SignatureStatus::Malformed);
        }
        assert!(matches!(verify(d.path(), &d.path().join("absent.sig"), None, &[]), Err(SigningError::Io { .. })));
    }

    #[test]
    fn single_files_sign_as_dot_and_symlinks_are_refused() {
        let key = SigningKey::generate_ed25519();
        let d = model();
        let file = d.path().join("model.onnx");
        let bundle = sign(&file, &key, &[]).unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&B64.decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap()).unwrap();
        assert_eq!(payload["subject"][0]["name"], "model.onnx");
        assert_eq!(payload["predicate"]["resources"][0]["name"], ".");
        let sig = d.path().join("single.sig");
        std::fs::write(&sig, serde_json::to_vec(&bundle).unwrap()).unwrap();
        assert!(verify(&file, &sig, Some(&key.verifying_key()), &[]).unwrap().ok());
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("link")).unwrap();
        assert!(matches!(sign(d.path(), &key, &[]), Err(SigningError::Symlink { .. })));
    }

    #[test]
    fn bad_key_files_say_what_to_give() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), include_bytes!("../tests/fixtures/keys/rsa2048-pkcs8.key")).unwrap();
        let e = SigningKey::from_pem_file(f.path()).err().unwrap().to_string();
        assert!(e.contains("Ed25519, ECDSA P-256 or P-384"), "{e}");
        let sec1 = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(sec1.path(), include_bytes!("../tests/fixtures/keys/p256-sec1.key")).unwrap();
        assert_eq!(SigningKey::from_pem_file(sec1.path()).unwrap().verifying_key().algorithm(), "ecdsa-p256-sha256");
    }
}
