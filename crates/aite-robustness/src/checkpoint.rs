//! Append-only checkpoints for long sweeps: one JSON line per finished unit of
//! work, after a header line naming what the sweep is (its fingerprint).
//!
//! Each line is flushed and synced before the sweep moves on, so an
//! interruption loses at most the unit in progress. A torn last line (the
//! process died mid-write) is ignored on reading. A checkpoint written for a
//! different sweep (other model, data, seed or options) is refused, never
//! silently mixed in.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Why a checkpoint could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot use checkpoint {path}: {source}\n  hint: check the folder is writable, or pass --fresh to start over")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("checkpoint {path} belongs to a different sweep (fingerprint {found}, this run is {expected})\n  hint: run the original command line to resume it, or pass --fresh to start over")]
    Mismatch { path: PathBuf, found: String, expected: String },
}

#[derive(Serialize, Deserialize)]
struct Header {
    aite_checkpoint: u32,
    fingerprint: String,
}

/// An open checkpoint file.
pub struct Checkpoint {
    path: PathBuf,
    file: File,
}

impl Checkpoint {
    /// Open (or create) the checkpoint at `path` for the sweep `fingerprint`,
    /// returning the units already finished.
    pub fn open<T: DeserializeOwned>(path: &Path, fingerprint: &str) -> Result<(Checkpoint, Vec<T>), CheckpointError> {
        let io = |source| CheckpointError::Io { path: path.to_path_buf(), source };
        let mut done = Vec::new();
        let mut valid_len = 0u64;
        if path.exists() {
            let reader = BufReader::new(File::open(path).map_err(io)?);
            let mut lines = reader.split(b'\n');
            match lines.next().transpose().map_err(io)? {
                Some(first) => {
                    let header: Option<Header> = serde_json::from_slice(&first).ok();
                    match header {
                        Some(h) if h.fingerprint == fingerprint => valid_len = first.len() as u64 + 1,
                        Some(h) => return Err(CheckpointError::Mismatch { path: path.to_path_buf(), found: h.fingerprint, expected: fingerprint.into() }),
                        None => {}
                    }
                }
                None => {}
            }
            if valid_len > 0 {
                for line in lines {
                    let line = line.map_err(io)?;
                    match serde_json::from_slice::<T>(&line) {
                        Ok(unit) => {
                            done.push(unit);
                            valid_len += line.len() as u64 + 1;
                        }
                        Err(_) => break, // torn tail
                    }
                }
            }
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path).map_err(io)?;
        // Drop a torn tail (or an unreadable header) before appending.
        file.set_len(valid_len).map_err(io)?;
        let mut cp = Checkpoint { path: path.to_path_buf(), file };
        use std::io::Seek;
        cp.file.seek(std::io::SeekFrom::End(0)).map_err(io)?;
        if valid_len == 0 {
            let header = serde_json::to_string(&Header { aite_checkpoint: 1, fingerprint: fingerprint.into() }).expect("header serialises");
            cp.write_line(&header)?;
        }
        Ok((cp, done))
    }

    fn write_line(&mut self, line: &str) -> Result<(), CheckpointError> {
        let io = |source| CheckpointError::Io { path: self.path.clone(), source };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.write_all(b"\n").map_err(io)?;
        self.file.sync_data().map_err(io)
    }

    /// Record one finished unit.
    pub fn append<T: Serialize>(&mut self, unit: &T) -> Result<(), CheckpointError> {
        let line = serde_json::to_string(unit).expect("checkpoint units serialise");
        self.write_line(&line)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_and_refuses_other_sweeps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cp.jsonl");
        {
            let (mut cp, done) = Checkpoint::open::<u32>(&path, "abc").unwrap();
            assert!(done.is_empty());
            cp.append(&1u32).unwrap();
            cp.append(&2u32).unwrap();
        }
        let (_, done) = Checkpoint::open::<u32>(&path, "abc").unwrap();
        assert_eq!(done, vec![1, 2]);
        let err = Checkpoint::open::<u32>(&path, "other").err().unwrap();
        assert!(err.to_string().contains("different sweep"), "{err}");
        // Refusing did not damage it.
        let (_, done) = Checkpoint::open::<u32>(&path, "abc").unwrap();
        assert_eq!(done, vec![1, 2]);
    }

    #[test]
    fn a_torn_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.jsonl");
        {
            let (mut cp, _) = Checkpoint::open::<Vec<u32>>(&path, "f").unwrap();
            cp.append(&vec![1u32, 2]).unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"[3, 4").unwrap();
        drop(f);
        let (mut cp, done) = Checkpoint::open::<Vec<u32>>(&path, "f").unwrap();
        assert_eq!(done, vec![vec![1, 2]]);
        cp.append(&vec![5u32]).unwrap();
        drop(cp);
        let (_, done) = Checkpoint::open::<Vec<u32>>(&path, "f").unwrap();
        assert_eq!(done, vec![vec![1, 2], vec![5]]);
    }
}
