//! Signed, dated evidence: an in-toto Statement v1 over every file of an
//! evidence package, in a DSSE envelope signed with Ed25519.
//!
//! [`sign_package`] hashes every regular file of the package (recursively,
//! dot-entries left out), names the signer ("Name, Role") and the signing time
//! in the [`EvidencePredicate`], and writes `<package>/`[`ENVELOPE_NAME`].
//! [`verify_package`] checks the signature over the DSSE pre-authentication
//! encoding ([`pae`]), then every subject, offline, and says which files
//! changed, went missing or were added ([`Outcome`]).
//!
//! This module owns the workspace's single [`pae`]; `aite-security`'s model
//! signing uses it too. The format is documented in `docs/evidence.md`.
//!
//! ```
//! use aite_evidence::attest::{self, Outcome};
//! let dir = tempfile::tempdir().unwrap();
//! let run = aite_evidence::RunFolder::create(dir.path(), "run").unwrap();
//! run.write_json("results.json", &serde_json::json!({"status": "complete"})).unwrap();
//! run.finish().unwrap();
//! let (private, public) = attest::generate_key();
//! std::fs::write(dir.path().join("lab.pem"), private).unwrap();
//! std::fs::write(dir.path().join("lab.pub.pem"), public).unwrap();
//!
//! attest::sign_package(run.path(), &dir.path().join("lab.pem"), "Jane Doe, Test Engineer").unwrap();
//! let v = attest::verify_package(run.path(), &dir.path().join("lab.pub.pem")).unwrap();
//! assert_eq!(v.outcome, Outcome::Verified);
//!
//! std::fs::write(run.path().join("results.json"), "{}").unwrap();
//! let v = attest::verify_package(run.path(), &dir.path().join("lab.pub.pem")).unwrap();
//! assert!(matches!(v.outcome, Outcome::Tampered { changed, .. } if changed == ["results.json"]));
//! ```

use crate::environment::ToolInfo;
use base64::Engine as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The envelope's file name inside the package.
pub const ENVELOPE_NAME: &str = "evidence.intoto.dsse.json";
/// DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// aite's evidence predicate, documented in `docs/evidence.md`.
pub const PREDICATE_TYPE: &str = "https://aite.dev/evidence/v1";

/// An envelope larger than this is refused unread (a package of 100 000 files
/// gives about 20 MB).
const MAX_ENVELOPE_BYTES: u64 = 256 << 20;

/// DSSE pre-authentication encoding: what the signature covers
/// (`"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`).
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Errors while signing or verifying a package (a package that does not verify
/// is an [`Outcome`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}\n  hint: the package folder must be writable")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("{path} is not a folder: an evidence package is a run folder")]
    NotAFolder { path: PathBuf },
    #[error("{path} is a symbolic link: a signed package holds regular files only (copy the file in instead)")]
    Symlink { path: PathBuf },
    #[error("{path} is not a regular file (device, socket or pipe): a signed package holds regular files only")]
    NotRegular { path: PathBuf },
    #[error("{path}: file name is not UTF-8, so it cannot be named in the statement")]
    NotUtf8 { path: PathBuf },
    #[error("{path} does not match manifest.json ({files}): the package changed after the run finished, so it is not signed")]
    ManifestMismatch { path: PathBuf, files: String },
    #[error("{path} is not valid JSON ({reason}): the run's facts cannot be put in the signed statement")]
    BadJson { path: PathBuf, reason: String },
    #[error("signer `{0}` must be \"Name, Role\" (e.g. \"Jane Doe, Test Engineer\"): Annex IV 2(g) asks for the responsible person and their role")]
    Signer(String),
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> AttestError + '_ {
    move |source| AttestError::Read { path: path.to_path_buf(), source }
}

/// The signer as the statement names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerIdentity {
    /// As given: "Name, Role".
    pub identity: String,
    pub name: String,
    pub role: String,
}

impl SignerIdentity {
    /// Parse "Name, Role" (split at the last comma; both parts non-empty).
    pub fn parse(s: &str) -> Result<Self, AttestError> {
        let (name, role) = s.rsplit_once(',').map(|(n, r)| (n.trim(), r.trim())).ok_or_else(|| AttestError::Signer(s.into()))?;
        if name.is_empty() || role.is_empty() {
            return Err(AttestError::Signer(s.into()));
        }
        Ok(SignerIdentity { identity: s.trim().into(), name: name.into(), role: role.into() })
    }
}

/// What results.json says about the run, copied into the predicate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub run_id: Option<String>,
    pub command: Option<String>,
    /// `complete`, `interrupted` or `failed`.
    pub status: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// What assessment.json concludes, copied into the predicate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssessmentSummary {
    pub profile: Option<String>,
    pub profile_version: Option<String>,
    /// PASS, FAIL, INCONCLUSIVE, NOT_TESTED or ERROR.
    pub overall: Option<String>,
    pub provisional_thresholds: Option<bool>,
}

/// The predicate of type [`PREDICATE_TYPE`]: who signed, when, with which key
/// and tool, and what the package concludes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidencePredicate {
    pub signer: SignerIdentity,
    /// UTC, RFC 3339.
    pub signed_at: String,
    pub tool: ToolInfo,
    /// SHA-256 (hex) of the signing key's SubjectPublicKeyInfo DER.
    pub key_id: String,
    /// `None` when the package has no results.json.
    pub run: Option<RunSummary>,
    /// `None` when the package has no assessment.json.
    pub assessment: Option<AssessmentSummary>,
}

/// One signed file: its `/`-separated name inside the package and digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// An in-toto Statement v1 with aite's evidence predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: EvidencePredicate,
}

/// A DSSE JSON envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Base64 of the serialized statement.
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// One DSSE signature; `keyid` is an unauthenticated hint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    pub sig: String,
}

/// A fresh Ed25519 key from the operating system's random source:
/// (private key as PKCS#8 PEM, public key as SubjectPublicKeyInfo PEM).
pub fn generate_key() -> (String, String) {
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    key_to_pem(&key)
}

/// (PKCS#8 PEM, SPKI PEM) of `key`. The private key is PKCS#8 v1 (RFC 8410
/// section 7, what `openssl genpkey` writes): OpenSSL 3.0 cannot read the v2
/// form with the public key that ed25519-dalek writes by default.
pub fn key_to_pem(key: &ed25519_dalek::SigningKey) -> (String, String) {
    let v1 = ed25519_dalek::pkcs8::KeypairBytes { secret_key: key.to_bytes(), public_key: None };
    let private = v1.to_pkcs8_pem(LineEnding::LF).map(|z| z.to_string()).expect("an Ed25519 key always encodes as PKCS#8");
    let public = key.verifying_key().to_public_key_pem(LineEnding::LF).expect("an Ed25519 key always encodes as SPKI");
    (private, public)
}

/// SHA-256 (hex) of the key's SubjectPublicKeyInfo DER: the envelope's keyid.
pub fn key_id(key: &ed25519_dalek::VerifyingKey) -> String {
    let der = key.to_public_key_der().expect("an Ed25519 key always encodes as SPKI");
    hex::encode(Sha256::digest(der.as_bytes()))
}

fn read_pem(path: &Path) -> Result<String, AttestError> {
    let bytes = std::fs::read(path).map_err(read_err(path))?;
    String::from_utf8(bytes).map_err(|_| AttestError::Key { path: path.into(), reason: "not a PEM text file".into() })
}

/// Read an Ed25519 private key (PKCS#8 PEM, `BEGIN PRIVATE KEY`).
pub fn load_signing_key(path: &Path) -> Result<ed25519_dalek::SigningKey, AttestError> {
    let text = read_pem(path)?;
    ed25519_dalek::SigningKey::from_pkcs8_pem(text.trim()).map_err(|e| {
        let hint = if text.contains("PUBLIC KEY-----") { "this is a public key; sign with the private one" } else { "give an Ed25519 private key in PKCS#8 PEM (`aite keygen --out KEY.pem` or `openssl genpkey -algorithm ed25519`)" };
        AttestError::Key { path: path.into(), reason: format!("not an Ed25519 private key ({e}): {hint}") }
    })
}

/// Read an Ed25519 public key (SubjectPublicKeyInfo PEM, `BEGIN PUBLIC KEY`).
pub fn load_verifying_key(path: &Path) -> Result<ed25519_dalek::VerifyingKey, AttestError> {
    let text = read_pem(path)?;
    ed25519_dalek::VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| {
        let hint = if text.contains("PRIVATE KEY-----") { "this is a private key; verify with the public one (KEY.pub.pem), and keep the private key secret" } else { "give the signer's Ed25519 public key in PEM (`BEGIN PUBLIC KEY`), e.g. the KEY.pub.pem `aite keygen` wrote" };
        AttestError::Key { path: path.into(), reason: format!("not an Ed25519 public key ({e}): {hint}") }
    })
}

/// What a walk of the package found at one name.
enum Entry {
    File(PathBuf),
    /// A symlink or special file: never signed, always reported.
    Other(PathBuf, bool),
}

/// Every non-dot entry below `dir` by `/`-separated name, leaving out the envelope.
/// A name that is not UTF-8 is an error when `strict` (signing), else it is
/// kept under its lossy spelling (verifying: it can only be an extra file).
fn walk(dir: &Path, strict: bool) -> Result<BTreeMap<String, Entry>, AttestError> {
    fn go(dir: &Path, prefix: &str, strict: bool, out: &mut BTreeMap<String, Entry>) -> Result<(), AttestError> {
        for entry in std::fs::read_dir(dir).map_err(read_err(dir))? {
            let entry = entry.map_err(read_err(dir))?;
            let path = entry.path();
            let name = match entry.file_name().to_str() {
                Some(n) => n.to_owned(),
                None if strict => return Err(AttestError::NotUtf8 { path }),
                None => entry.file_name().to_string_lossy().into_owned(),
            };
            if name.starts_with('.') || (prefix.is_empty() && name == ENVELOPE_NAME) {
                continue;
            }
            let rel = format!("{prefix}{name}");
            let kind = entry.file_type().map_err(read_err(&path))?;
            if kind.is_dir() {
                go(&path, &format!("{rel}/"), strict, out)?;
            } else if kind.is_file() {
                out.insert(rel, Entry::File(path));
            } else {
                out.insert(rel, Entry::Other(path, kind.is_symlink()));
            }
        }
        Ok(())
    }
    let meta = std::fs::symlink_metadata(dir).map_err(read_err(dir))?;
    if !meta.is_dir() {
        return Err(AttestError::NotAFolder { path: dir.into() });
    }
    let mut out = BTreeMap::new();
    go(dir, "", strict, &mut out)?;
    Ok(out)
}

fn sha256_file(path: &Path) -> Result<String, AttestError> {
    let mut f = std::fs::File::open(path).map_err(read_err(path))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(read_err(path))?;
    Ok(hex::encode(h.finalize()))
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>, AttestError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| AttestError::BadJson { path: path.into(), reason: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AttestError::Read { path: path.into(), source: e }),
    }
}

fn text(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_owned)
}

/// Sign the package `dir` with the private key in `key_pem_path`, as `signer`
/// ("Name, Role"), now. Returns the envelope's path.
pub fn sign_package(dir: &Path, key_pem_path: &Path, signer: &str) -> Result<PathBuf, AttestError> {
    let key = load_signing_key(key_pem_path)?;
    sign_package_with(dir, &key, signer, time::OffsetDateTime::now_utc())
}

/// [`sign_package`] with a key in memory and a given signing time.
///
/// Refused: a symlink or special file anywhere in the package, a name that is
/// not UTF-8, and a package whose `manifest.json` no longer matches its files.
pub fn sign_package_with(dir: &Path, key: &ed25519_dalek::SigningKey, signer: &str, signed_at: time::OffsetDateTime) -> Result<PathBuf, AttestError> {
    use ed25519_dalek::Signer as _;
    let signer = SignerIdentity::parse(signer)?;
    let mut subject = Vec::new();
    for (name, entry) in walk(dir, true)? {
        match entry {
            Entry::File(path) => subject.push(Subject { name, digest: BTreeMap::from([("sha256".to_string(), sha256_file(&path)?)]) }),
            Entry::Other(path, true) => return Err(AttestError::Symlink { path }),
            Entry::Other(path, false) => return Err(AttestError::NotRegular { path }),
        }
    }
    check_manifest(dir, &subject)?;
    let run = read_json(&dir.join("results.json"))?.map(|r| RunSummary {
        run_id: text(&r, "run_id"),
        command: text(&r, "command"),
        status: text(&r, "status"),
        started_at: text(&r, "started_at"),
        finished_at: text(&r, "finished_at"),
    });
    let assessment = read_json(&dir.join("assessment.json"))?.map(|a| AssessmentSummary {
        profile: text(&a, "profile"),
        profile_version: text(&a, "profile_version"),
        overall: text(&a, "overall"),
        provisional_thresholds: a.get("provisional_thresholds").and_then(|x| x.as_bool()),
    });
    let key_id = key_id(&key.verifying_key());
    let signed_at = signed_at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(signed_at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let statement = Statement {
        statement_type: STATEMENT_TYPE.into(),
        subject,
        predicate_type: PREDICATE_TYPE.into(),
        predicate: EvidencePredicate { signer, signed_at, tool: ToolInfo::current(), key_id: key_id.clone(), run, assessment },
    };
    let payload = serde_json::to_vec(&statement).expect("a statement always serialises");
    let sig = key.sign(&pae(PAYLOAD_TYPE, &payload));
    let b64 = base64::engine::general_purpose::STANDARD;
    let envelope = Envelope { payload: b64.encode(&payload), payload_type: PAYLOAD_TYPE.into(), signatures: vec![EnvelopeSignature { keyid: key_id, sig: b64.encode(sig.to_bytes()) }] };
    let mut bytes = serde_json::to_vec_pretty(&envelope).expect("an envelope always serialises");
    bytes.push(b'\n');
    let dest = dir.join(ENVELOPE_NAME);
    crate::write_atomic(&dest, &bytes).map_err(|e| match e {
        crate::EvidenceError::Io { source, .. } => AttestError::Write { path: dest.clone(), source },
        other => AttestError::Write { path: dest.clone(), source: std::io::Error::other(other.to_string()) },
    })?;
    Ok(dest)
}

/// A package whose manifest.json lists a file that changed or vanished since
/// the run finished is not signed: the signature would bless the change.
fn check_manifest(dir: &Path, subject: &[Subject]) -> Result<(), AttestError> {
    let path = dir.join("manifest.json");
    let Some(value) = read_json(&path)? else { return Ok(()) };
    let manifest: crate::Manifest = serde_json::from_value(value).map_err(|e| AttestError::BadJson { path: path.clone(), reason: e.to_string() })?;
    let now: BTreeMap<&str, &str> = subject.iter().map(|s| (s.name.as_str(), s.digest["sha256"].as_str())).collect();
    let bad: Vec<String> = manifest
        .files
        .iter()
        .filter_map(|(name, digest)| match now.get(name.as_str()) {
            None => Some(format!("{name} missing")),
            Some(d) if !d.eq_ignore_ascii_case(digest) => Some(format!("{name} changed")),
            Some(_) => None,
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(AttestError::ManifestMismatch { path, files: bad.join(", ") })
    }
}

/// The result of checking a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The signature verified with the given key, every subject's digest
    /// matched, and no file was added.
    Verified,
    /// The signature verified, but files differ from the signed ones.
    Tampered {
        /// Digest differs, or no longer a regular file.
        changed: Vec<String>,
        missing: Vec<String>,
        /// Not among the subjects (a regular file, symlink or special file).
        extra: Vec<String>,
    },
    /// No signature in the envelope verifies with the given key: a different
    /// signer, or a changed payload or signature.
    BadSignature { reason: String },
    /// The envelope cannot be read as a DSSE envelope of an aite statement.
    Malformed { reason: String },
    /// The package has no envelope.
    Unsigned,
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Verified => "VERIFIED",
            Outcome::Tampered { .. } => "TAMPERED",
            Outcome::BadSignature { .. } => "BAD_SIGNATURE",
            Outcome::Malformed { .. } => "MALFORMED",
            Outcome::Unsigned => "UNSIGNED",
        }
    }
}

/// What [`verify_package`] found.
#[derive(Debug, Clone, Serialize)]
pub struct PackageVerification {
    pub envelope: PathBuf,
    /// SHA-256 of the SPKI DER of the key verification used.
    pub key_id: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Number of signed files (when the signature verified).
    pub subjects: Option<usize>,
    /// Signer, time, run and assessment, only once the signature verified.
    pub predicate: Option<EvidencePredicate>,
}

impl PackageVerification {
    pub fn verified(&self) -> bool {
        self.outcome == Outcome::Verified
    }
}

/// Standard or URL-safe base64, padded or not (DSSE verifiers must accept both).
fn b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{general_purpose::GeneralPurposeConfig, DecodePaddingMode, GeneralPurpose};
    let cfg = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&base64::alphabet::STANDARD, cfg)
        .decode(s)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, cfg).decode(s))
        .ok()
}

/// Verify the package `dir` against the Ed25519 public key in `public_key_pem_path`, offline.
pub fn verify_package(dir: &Path, public_key_pem_path: &Path) -> Result<PackageVerification, AttestError> {
    let key = load_verifying_key(public_key_pem_path)?;
    verify_package_with(dir, &key)
}

/// [`verify_package`] with a key in memory. Errors are only unreadable files;
/// everything the envelope or the files say is in the [`Outcome`].
pub fn verify_package_with(dir: &Path, key: &ed25519_dalek::VerifyingKey) -> Result<PackageVerification, AttestError> {
    let envelope = dir.join(ENVELOPE_NAME);
    let kid = key_id(key);
    let done = |outcome, subjects, predicate| Ok(PackageVerification { envelope: envelope.clone(), key_id: kid.clone(), outcome, subjects, predicate });
    let malformed = |reason: String| done(Outcome::Malformed { reason: format!("{}: {reason}", envelope.display()) }, None, None);
    let files = walk(dir, false)?;
    let meta = match std::fs::symlink_metadata(&envelope) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return done(Outcome::Unsigned, None, None),
        Err(e) => return Err(AttestError::Read { path: envelope.clone(), source: e }),
    };
    if !meta.is_file() {
        return malformed("not a regular file".into());
    }
    if meta.len() > MAX_ENVELOPE_BYTES {
        return malformed(format!("{} bytes, more than the {MAX_ENVELOPE_BYTES} an envelope may have", meta.len()));
    }
    let bytes = std::fs::read(&envelope).map_err(read_err(&envelope))?;
    let env: Envelope = match serde_json::from_slice(&bytes) {
        Ok(e) => e,
        Err(e) => return malformed(format!("not a DSSE JSON envelope ({e})")),
    };
    let Some(payload) = b64_decode(&env.payload) else { return malformed("payload is not base64".into()) };
    if env.signatures.is_empty() {
        return malformed("no signatures".into());
    }
    let message = pae(&env.payload_type, &payload);
    let mut reasons = Vec::new();
    let mut verified = false;
    for (i, s) in env.signatures.iter().enumerate() {
        let Some(raw) = b64_decode(&s.sig) else { return malformed(format!("signature {i} is not base64")) };
        match ed25519_dalek::Signature::from_slice(&raw) {
            Ok(sig) if key.verify_strict(&message, &sig).is_ok() => {
                verified = true;
                break;
            }
            Ok(_) => reasons.push(if s.keyid.is_empty() || s.keyid == kid { format!("signature {i} does not verify (the payload or the signature changed)") } else { format!("signature {i} is by key {}, not by the given key", s.keyid) }),
            Err(_) => reasons.push(format!("signature {i} is {} bytes, not a 64-byte Ed25519 signature", raw.len())),
        }
    }
    if !verified {
        let reason = format!("{}: {} (given key {kid})", envelope.display(), reasons.join("; "));
        return done(Outcome::BadSignature { reason }, None, None);
    }
    // Signed by the key: from here on, what the payload says is the signer's.
    if env.payload_type != PAYLOAD_TYPE {
        return malformed(format!("payloadType `{}`, expected `{PAYLOAD_TYPE}`", env.payload_type));
    }
    let statement: Statement = match serde_json::from_slice(&payload) {
        Ok(s) => s,
        Err(e) => return malformed(format!("payload is not an aite evidence statement ({e})")),
    };
    if statement.statement_type != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
        return malformed(format!("statement type `{}` / predicate `{}`, expected `{STATEMENT_TYPE}` / `{PREDICATE_TYPE}`", statement.statement_type, statement.predicate_type));
    }
    if statement.predicate.key_id != kid {
        return malformed(format!("the predicate names key {} but the signature is by key {kid}", statement.predicate.key_id));
    }
    let mut signed = BTreeSet::new();
    let (mut changed, mut missing) = (Vec::new(), Vec::new());
    for s in &statement.subject {
        let clean = !s.name.is_empty() && !s.name.starts_with('/') && s.name.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
        let Some(digest) = s.digest.get("sha256").filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit())) else {
            return malformed(format!("subject `{}` has no sha256 digest", s.name));
        };
        if !clean || !signed.insert(s.name.as_str()) {
            return malformed(format!("subject name `{}` is not a unique relative path", s.name));
        }
        match files.get(&s.name) {
            Some(Entry::File(path)) => {
                if !sha256_file(path)?.eq_ignore_ascii_case(digest) {
                    changed.push(s.name.clone());
                }
            }
            Some(Entry::Other(..)) => changed.push(s.name.clone()),
            None => missing.push(s.name.clone()),
        }
    }
    let extra: Vec<String> = files.keys().filter(|n| !signed.contains(n.as_str())).cloned().collect();
    let outcome = if changed.is_empty() && missing.is_empty() && extra.is_empty() { Outcome::Verified } else { Outcome::Tampered { changed, missing, extra } };
    let n = statement.subject.len();
    done(outcome, Some(n), Some(statement.predicate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_the_dsse_spec_vector() {
        // ../shared/reference/schemas/dsse/protocol.md, "Test Vectors".
        assert_eq!(pae("http://example.com/HelloWorld", b"hello world"), b"DSSEv1 29 http://example.com/HelloWorld 11 hello world");
        // Lengths are bytes, not characters.
        assert_eq!(pae("t", "é".as_bytes()), b"DSSEv1 1 t 2 \xc3\xa9");
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn signers_need_a_name_and_a_role() {
        let s = SignerIdentity::parse("Doe, Jane, Test Engineer").unwrap();
        assert_eq!((s.name.as_str(), s.role.as_str()), ("Doe, Jane", "Test Engineer"));
        for bad in ["Jane Doe", ", Engineer", "Jane Doe, ", ""] {
            assert!(matches!(SignerIdentity::parse(bad), Err(AttestError::Signer(_))), "{bad}");
        }
    }

    #[test]
    fn key_id_is_the_sha256_of_the_spki_der() {
        // Ed25519 SPKI DER = 302a300506032b6570032100 || key (RFC 8410).
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let mut der = hex::decode("302a300506032b6570032100").unwrap();
        der.extend_from_slice(key.verifying_key().as_bytes());
        assert_eq!(key_id(&key.verifying_key()), hex::encode(Sha256::digest(&der)));
    }

    #[test]
    fn generated_keys_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = generate_key();
        assert!(private.starts_with("-----BEGIN PRIVATE KEY-----") && public.starts_with("-----BEGIN PUBLIC KEY-----"));
        std::fs::write(dir.path().join("k.pem"), &private).unwrap();
        std::fs::write(dir.path().join("k.pub.pem"), &public).unwrap();
        let k = load_signing_key(&dir.path().join("k.pem")).unwrap();
        assert_eq!(k.verifying_key(), load_verifying_key(&dir.path().join("k.pub.pem")).unwrap());
        // Swapped files say which half they are.
        let e = load_signing_key(&dir.path().join("k.pub.pem")).unwrap_err().to_string();
        assert!(e.contains("k.pub.pem") && e.contains("public key"), "{e}");
        let e = load_verifying_key(&dir.path().join("k.pem")).unwrap_err().to_string();
        assert!(e.contains("k.pem") && e.contains("private key"), "{e}");
        let e = load_verifying_key(&dir.path().join("absent.pem")).unwrap_err().to_string();
        assert!(e.contains("absent.pem"), "{e}");
    }
}
