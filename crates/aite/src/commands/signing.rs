//! `aite sign` and `aite verify-model`: OpenSSF Model Signing on files and folders.

use crate::cli::{SignArgs, VerifyModelArgs};
use crate::exit::{Exit, UsageError};
use aite_security::signing::{self, SigningKey, VerifyingKey};
use aite_evidence::write_atomic;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// `<folder>/model.sig` for a folder, `<file>.sig` for a file.
fn default_signature(model: &Path) -> PathBuf {
    if model.is_dir() {
        model.join(signing::DEFAULT_SIGNATURE_NAME)
    } else {
        let mut s = model.as_os_str().to_owned();
        s.push(".sig");
        PathBuf::from(s)
    }
}

pub fn sign(a: SignArgs) -> Result<u8> {
    if !a.model.exists() {
        anyhow::bail!(signing::SigningError::Io { path: a.model.clone(), source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such model file or folder") });
    }
    let key = match (&a.key, &a.generate_key) {
        (Some(k), _) => SigningKey::from_pem_file(k)?,
        (None, Some(out)) => {
            if out.exists() {
                return Err(UsageError(format!("{} exists: --generate-key never overwrites a key; pick a new name or sign with --key {}", out.display(), out.display())).into());
            }
            let k = SigningKey::generate_ed25519();
            write_atomic(out, k.to_pem().as_bytes())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o600));
            }
            let public = PathBuf::from(format!("{}.pub.pem", out.display()));
            write_atomic(&public, k.verifying_key().to_pem().as_bytes())?;
            eprintln!("new Ed25519 key: {} (keep it secret), public key: {}", out.display(), public.display());
            k
        }
        (None, None) => return Err(UsageError("give --key KEY.pem or --generate-key NEW.pem".into()).into()),
    };
    let sig_path = a.signature.clone().unwrap_or_else(|| default_signature(&a.model));
    let mut ignore = a.ignore.clone();
    // A signature written inside the model folder is not part of the model.
    ignore.extend(signing::path_inside(&a.model, &sig_path));
    let (bundle, manifest) = signing::sign_with_manifest(&a.model, &key, &ignore)?;
    write_atomic(&sig_path, &serde_json::to_vec_pretty(&bundle)?)?;
    println!("signed {} ({} file(s), {}) -> {}", a.model.display(), manifest.resources.len(), key.verifying_key().algorithm(), sig_path.display());
    Ok(Exit::Ok as u8)
}

pub fn verify(a: VerifyModelArgs) -> Result<u8> {
    let sig_path = a.signature.clone().unwrap_or_else(|| default_signature(&a.model));
    if !a.model.exists() {
        anyhow::bail!(signing::SigningError::Io { path: a.model.clone(), source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such model file or folder") });
    }
    let key = a.public_key.as_deref().map(VerifyingKey::from_pem_file).transpose()?;
    let v = signing::verify(&a.model, &sig_path, key.as_ref(), &a.ignore)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "model": a.model, "signature": sig_path, "verification": v }))?);
    } else {
        println!("{}: {} ({})", a.model.display(), serde_json::to_value(v.status)?.as_str().unwrap_or(""), v.message);
        for (what, list) in [("changed", &v.changed), ("missing", &v.missing), ("not signed", &v.unsigned)] {
            for f in list {
                println!("  {what}: {f}");
            }
        }
    }
    Ok(if v.ok() { Exit::Ok as u8 } else { Exit::Invalid as u8 })
}
