//! `aite keygen`, `aite sign-evidence` and `aite verify`: signed, dated
//! evidence packages (in-toto statement in a DSSE envelope, Ed25519).

use crate::cli::{KeygenArgs, SignPackageArgs, VerifyArgs};
use crate::exit::{Exit, UsageError};
use aite_evidence::attest::{self, EvidencePredicate, Outcome};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `KEY.pem` → `KEY.pub.pem`; any other name gets `.pub.pem` appended.
fn public_key_path(private: &Path) -> PathBuf {
    let s = private.as_os_str().to_string_lossy();
    match s.strip_suffix(".pem") {
        Some(stem) => PathBuf::from(format!("{stem}.pub.pem")),
        None => PathBuf::from(format!("{s}.pub.pem")),
    }
}

/// Create `path` (never replacing a file) with `mode` and write `bytes`.
fn create_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

pub fn keygen(a: KeygenArgs) -> Result<u8> {
    let public = public_key_path(&a.out);
    for p in [&a.out, &public] {
        if p.exists() || p.symlink_metadata().is_ok() {
            return Err(UsageError(format!("{} exists: aite keygen never overwrites a key; pick a new --out name", p.display())).into());
        }
    }
    let (private_pem, public_pem) = attest::generate_key();
    create_new(&a.out, private_pem.as_bytes(), 0o600).map_err(|source| aite_evidence::AttestError::Write { path: a.out.clone(), source })?;
    if let Err(source) = create_new(&public, public_pem.as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&a.out);
        return Err(aite_evidence::AttestError::Write { path: public, source }.into());
    }
    let id = attest::key_id(&attest::load_verifying_key(&public)?);
    println!("new Ed25519 key: {} (private, mode 0600: keep it secret)", a.out.display());
    println!("public key:      {} (give it to whoever verifies)", public.display());
    println!("key id:          {id}");
    Ok(Exit::Ok as u8)
}

fn signed_by(p: &EvidencePredicate) -> String {
    format!("signed by \"{}\" at {}, key {}", p.signer.identity, p.signed_at, p.key_id)
}

fn concludes(p: &EvidencePredicate) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(r) = &p.run {
        parts.push(format!("run {} ({})", r.run_id.as_deref().unwrap_or("without id"), r.status.as_deref().unwrap_or("status not recorded")));
    }
    if let Some(a) = &p.assessment {
        parts.push(format!("assessment {}: {}", a.profile.as_deref().unwrap_or("?"), a.overall.as_deref().unwrap_or("no overall verdict")));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

pub fn sign(a: SignPackageArgs) -> Result<u8> {
    let key = attest::load_signing_key(&a.key)?;
    let envelope = attest::sign_package(&a.dir, &a.key, &a.signer)?;
    // Read the envelope back as a verifier would.
    let v = attest::verify_package_with(&a.dir, &key.verifying_key())?;
    let (Outcome::Verified, Some(p)) = (&v.outcome, &v.predicate) else {
        anyhow::bail!("{} was written but does not verify with the signing key ({}): the package changed while it was signed; sign it again", envelope.display(), v.outcome.label());
    };
    println!("signed {} ({} files), {}", a.dir.display(), v.subjects.unwrap_or(0), signed_by(p));
    if let Some(c) = concludes(p) {
        println!("  {c}");
    }
    println!("  -> {}", envelope.display());
    Ok(Exit::Ok as u8)
}

pub fn verify(a: VerifyArgs) -> Result<u8> {
    let v = attest::verify_package(&a.dir, &a.public_key).with_context(|| format!("verifying {}", a.dir.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "package": a.dir, "verification": v }))?);
    } else {
        let dir = a.dir.display();
        let label = v.outcome.label();
        match &v.outcome {
            Outcome::Verified => println!("{dir}: {label} ({} files)", v.subjects.unwrap_or(0)),
            Outcome::Tampered { changed, missing, extra } => {
                println!("{dir}: {label}: {} changed, {} missing, {} extra (of {} signed files)", changed.len(), missing.len(), extra.len(), v.subjects.unwrap_or(0))
            }
            Outcome::BadSignature { reason } | Outcome::Malformed { reason } => println!("{dir}: {label}: {reason}"),
            Outcome::Unsigned => println!("{dir}: {label}: no {} (sign it with `aite sign-evidence`)", attest::ENVELOPE_NAME),
        }
        if let Some(p) = &v.predicate {
            println!("  {}", signed_by(p));
            if let Some(c) = concludes(p) {
                println!("  {c}");
            }
        }
        if let Outcome::Tampered { changed, missing, extra } = &v.outcome {
            for (what, list) in [("changed", changed), ("missing", missing), ("extra", extra)] {
                for f in list {
                    println!("  {what}: {f}");
                }
            }
        }
    }
    Ok(if v.verified() { Exit::Ok as u8 } else { Exit::NotVerified as u8 })
}

#[cfg(test)]
mod tests {
    use super::public_key_path;
    use std::path::Path;

    #[test]
    fn public_key_names() {
        assert_eq!(public_key_path(Path::new("lab.pem")), Path::new("lab.pub.pem"));
        assert_eq!(public_key_path(Path::new("keys/lab.key")), Path::new("keys/lab.key.pub.pem"));
    }
}
