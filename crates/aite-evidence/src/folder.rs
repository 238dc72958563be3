//! The run folder and its atomic writes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Errors while writing evidence.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("cannot write evidence to {path}: {source}\n  hint: check that --out points to a writable folder with free space")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("evidence file name `{0}` must be a plain file name inside the run folder")]
    BadName(String),
    #[error("cannot serialise {name}: {reason}")]
    Serialize { name: String, reason: String },
}

/// SHA-256 of each file in the run folder, written last as `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub files: BTreeMap<String, String>,
}

/// A folder holding one run's evidence.
#[derive(Debug)]
pub struct RunFolder {
    path: PathBuf,
}

impl RunFolder {
    /// Create `<out>/<UTC timestamp>-<command>` (suffixed `-2`, `-3`... if it exists).
    pub fn create(out: &Path, command: &str) -> Result<Self, EvidenceError> {
        let io = |source| EvidenceError::Io { path: out.to_path_buf(), source };
        std::fs::create_dir_all(out).map_err(io)?;
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!("[year][month][day]-[hour][minute][second]"))
            .unwrap_or_else(|_| "run".into());
        let base = format!("{stamp}-{command}");
        for n in 1.. {
            let name = if n == 1 { base.clone() } else { format!("{base}-{n}") };
            let path = out.join(name);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(RunFolder { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(EvidenceError::Io { path, source: e }),
            }
        }
        unreachable!("an unbounded counter always finds a free name")
    }

    /// Use an existing folder (e.g. to resume a run).
    pub fn open(path: &Path) -> Result<Self, EvidenceError> {
        std::fs::create_dir_all(path).map_err(|source| EvidenceError::Io { path: path.to_path_buf(), source })?;
        Ok(RunFolder { path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn target(&self, name: &str) -> Result<PathBuf, EvidenceError> {
        let ok = !name.is_empty()
            && Path::new(name).components().count() == 1
            && !name.starts_with('.')
            && !name.contains(['/', '\\']);
        if !ok {
            return Err(EvidenceError::BadName(name.to_string()));
        }
        Ok(self.path.join(name))
    }

    /// Write bytes atomically: temp file in the same folder, fsync, rename.
    pub fn write_bytes(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, EvidenceError> {
        let dest = self.target(name)?;
        write_atomic(&dest, bytes)?;
        Ok(dest)
    }

    /// Write a value as pretty JSON, atomically.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<PathBuf, EvidenceError> {
        let mut text = serde_json::to_vec_pretty(value).map_err(|e| EvidenceError::Serialize { name: name.into(), reason: e.to_string() })?;
        text.push(b'\n');
        self.write_bytes(name, &text)
    }

    /// Hash every file in the folder (but dot-entries and the signature envelope) and write `manifest.json`.
    pub fn finish(&self) -> Result<Manifest, EvidenceError> {
        let io = |source| EvidenceError::Io { path: self.path.clone(), source };
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(&self.path).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // The signature covers the manifest, so the manifest never lists it.
            if name == "manifest.json" || name == crate::attest::ENVELOPE_NAME || name.starts_with('.') || !entry.file_type().map_err(io)?.is_file() {
                continue;
            }
            let bytes = std::fs::read(entry.path()).map_err(io)?;
            files.insert(name, hex::encode(Sha256::digest(&bytes)));
        }
        let manifest = Manifest { files };
        self.write_json("manifest.json", &manifest)?;
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunFolder::create(dir.path(), "t").unwrap();
        for bad in ["../x.json", "/etc/passwd", "a/b.json", "", ".hidden", ".."] {
            assert!(matches!(run.write_bytes(bad, b"x"), Err(EvidenceError::BadName(_))), "{bad}");
        }
        assert!(!dir.path().join("x.json").exists());
    }

    #[test]
    fn second_folder_in_same_second_gets_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let a = RunFolder::create(dir.path(), "t").unwrap();
        let b = RunFolder::create(dir.path(), "t").unwrap();
        assert_ne!(a.path(), b.path());
    }

    #[test]
    fn overwrite_is_atomic_and_manifest_hashes_files() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunFolder::create(dir.path(), "t").unwrap();
        run.write_bytes("results.json", b"{\"v\":1}").unwrap();
        run.write_bytes("results.json", b"{\"v\":2}").unwrap();
        assert_eq!(std::fs::read(run.path().join("results.json")).unwrap(), b"{\"v\":2}");
        let m = run.finish().unwrap();
        assert_eq!(m.files.len(), 1, "no temp files left behind: {:?}", m.files);
        assert_eq!(m.files["results.json"], hex::encode(Sha256::digest(b"{\"v\":2}")));
    }
}

/// Write `bytes` to `dest` atomically: a temporary file in the same folder,
/// fsync, rename; a crash never leaves a half-written file.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    let io = |source| EvidenceError::Io { path: dest.to_path_buf(), source };
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(dest).map_err(|e| io(e.error))?;
    Ok(())
}
