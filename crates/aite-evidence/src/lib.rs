//! Evidence: what a run leaves behind for an auditor.
//!
//! Every aite command that measures something writes a [`RunFolder`]:
//!
//! | file | content |
//! |---|---|
//! | `results.json` | [`Results`]: schema version, tool, target, inputs with SHA-256, suite results |
//! | `environment.json` | [`Environment`]: OS, kernel, CPU, cores, tool version and commit |
//! | `config.json` | the exact configuration the run used |
//! | `*.csv` | raw data (every latency sample, every prediction) |
//! | `manifest.json` | SHA-256 of every file above, written last |
//!
//! Numbers that can be NaN or infinite are written by name ([`non_finite`]).
//!
//! [`attest`] signs a finished package: an in-toto Statement v1 listing every
//! file with its SHA-256, signer ("Name, Role") and time, in a DSSE envelope
//! (`evidence.intoto.dsse.json`, Ed25519), and verifies it offline, naming each
//! changed, missing or extra file.
//!
//! Every file is written atomically (temporary file, fsync, rename), so a crash
//! or Ctrl-C never leaves a half-written results file.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let run = aite_evidence::RunFolder::create(dir.path(), "demo").unwrap();
//! run.write_json("config.json", &serde_json::json!({"threads": 1})).unwrap();
//! let manifest = run.finish().unwrap();
//! assert!(manifest.files.contains_key("config.json"));
//! ```

pub mod attest;
mod environment;
mod folder;
pub mod non_finite;
mod results;

pub use attest::{sign_package, verify_package, AttestError, Outcome, PackageVerification, ENVELOPE_NAME};
pub use environment::{Environment, ToolInfo};
pub use folder::{write_atomic, EvidenceError, Manifest, RunFolder};
pub use results::{now_rfc3339, InputArtifact, Results, RunStatus, RESULTS_SCHEMA};
