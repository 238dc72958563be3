//! Errors raised while reading datasets, decoding images or parsing specs.

use std::path::PathBuf;

/// What went wrong with a dataset, an image or a preprocessing spec.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("dataset {path} is malformed at line {line}: {reason}\n  hint: a manifest is CSV with `path,label[,...]`, paths relative to the CSV, labels as integer class indices")]
    Manifest {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("dataset {path} is refused: {reason}\n  hint: aite reads manifests of at most 256 MiB and 2 000 000 rows; split the dataset into several manifests")]
    ManifestTooLarge { path: PathBuf, reason: String },
    #[error("dataset {path} has no images\n  hint: point --dataset at a labels CSV, at a folder with one sub-folder of JPEG/PNG/BMP images per class, or (latency, consistency) at a folder of JPEG/PNG/BMP frames")]
    Empty { path: PathBuf },
    #[error("cannot decode image {id}: {reason}")]
    Decode { id: String, reason: String },
    #[error("invalid preprocessing spec: {reason}\n  hint: {hint}")]
    Spec { reason: String, hint: String },
}
