//! Labeled image datasets: CSV manifests, ImageFolder trees, in-memory sets.

use crate::DataError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a sample's encoded bytes live.
#[derive(Debug, Clone)]
pub enum SampleSource {
    File(PathBuf),
    Bytes(Arc<[u8]>),
}

/// One labeled image.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Stable identifier: the path as written in the manifest, or relative to the root.
    pub id: String,
    pub source: SampleSource,
    /// Class index in the dataset's own label space (before any label offset).
    pub label: Option<usize>,
}

impl Sample {
    /// Read the encoded bytes (JPEG/PNG/BMP) of this sample.
    pub fn bytes(&self) -> Result<Arc<[u8]>, DataError> {
        match &self.source {
            SampleSource::Bytes(b) => Ok(b.clone()),
            SampleSource::File(p) => std::fs::read(p)
                .map(Arc::from)
                .map_err(|source| DataError::Io { path: p.clone(), source }),
        }
    }
}

/// An ordered set of labeled samples with a content hash.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Human name: the manifest or folder path, or a built-in name.
    pub name: String,
    pub samples: Vec<Sample>,
    /// Class names by index, when known (classes.txt, CSV class column, folder names).
    pub classes: Vec<String>,
}

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp"];

/// Largest CSV manifest read (bytes), so a hostile or mistaken file is refused
/// before it is loaded into memory.
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;
/// Most rows in a CSV manifest.
pub const MAX_MANIFEST_ROWS: usize = 2_000_000;
/// Longest line of a CSV manifest (bytes).
pub const MAX_MANIFEST_LINE_BYTES: usize = 64 << 10;
/// Class indices named in a class column must be below this (the class-name
/// table is allocated up to the largest one).
pub const MAX_CLASS_INDEX: usize = 1_000_000;

impl Dataset {
    /// Open a CSV manifest (file) or an ImageFolder tree (directory).
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let meta = std::fs::metadata(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let ds = if meta.is_dir() {
            if path.join("labels.csv").is_file() {
                Self::from_manifest(&path.join("labels.csv"))?
            } else {
                Self::from_image_folder(path)?
            }
        } else {
            Self::from_manifest(path)?
        };
        if ds.samples.is_empty() {
            return Err(DataError::Empty { path: path.to_path_buf() });
        }
        Ok(ds)
    }

    /// `path,label[,class,...]` with an optional header; paths relative to the CSV.
    /// Bounded: [`MAX_MANIFEST_BYTES`], [`MAX_MANIFEST_ROWS`],
    /// [`MAX_MANIFEST_LINE_BYTES`], [`MAX_CLASS_INDEX`].
    pub fn from_manifest(csv_path: &Path) -> Result<Self, DataError> {
        let root = csv_path.parent().unwrap_or(Path::new("."));
        let text = read_manifest(csv_path)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut samples = Vec::new();
        let mut class_names: Vec<Option<String>> = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let line = i + 1;
            if i >= MAX_MANIFEST_ROWS {
                return Err(DataError::ManifestTooLarge {
                    path: csv_path.to_path_buf(),
                    reason: format!("more than {MAX_MANIFEST_ROWS} rows (the row limit)"),
                });
            }
            let record = record.map_err(|e| DataError::Manifest {
                path: csv_path.to_path_buf(),
                line,
                reason: e.to_string(),
            })?;
            let rel = record.get(0).unwrap_or("");
            let label_text = record.get(1).unwrap_or("");
            if rel.is_empty() || rel.starts_with('#') {
                continue;
            }
            let label = match label_text.parse::<usize>() {
                Ok(l) => Some(l),
                Err(_) if line == 1 => continue, // header row
                Err(_) if label_text.is_empty() => None,
                Err(_) => {
                    return Err(DataError::Manifest {
                        path: csv_path.to_path_buf(),
                        line,
                        reason: format!("label `{label_text}` is not a class index"),
                    })
                }
            };
            if let (Some(l), Some(name)) = (label, record.get(2)) {
                if l >= MAX_CLASS_INDEX {
                    return Err(DataError::Manifest {
                        path: csv_path.to_path_buf(),
                        line,
                        reason: format!("class index {l} with a class name is not below the limit of {MAX_CLASS_INDEX}"),
                    });
                }
                if class_names.len() <= l {
                    class_names.resize(l + 1, None);
                }
                class_names[l].get_or_insert_with(|| name.to_string());
            }
            samples.push(Sample {
                id: rel.to_string(),
                source: SampleSource::File(root.join(rel)),
                label,
            });
        }
        let classes = match std::fs::read_to_string(root.join("classes.txt")) {
            Ok(t) => t.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect(),
            Err(_) => class_names
                .into_iter()
                .enumerate()
                .map(|(i, n)| n.unwrap_or_else(|| i.to_string()))
                .collect(),
        };
        Ok(Dataset {
            name: csv_path.display().to_string(),
            samples,
            classes,
        })
    }

    /// One sub-folder per class (sorted by name = class index), images inside; or,
    /// for a folder with no sub-folders, its images as unlabeled samples (label
    /// `None`: enough for latency and consistency, refused by accuracy).
    pub fn from_image_folder(root: &Path) -> Result<Self, DataError> {
        let io = |source| DataError::Io { path: root.to_path_buf(), source };
        let mut classes: Vec<String> = std::fs::read_dir(root)
            .map_err(io)?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        classes.sort();
        let mut samples = Vec::new();
        if classes.is_empty() {
            for f in image_files(root)? {
                let id = f.strip_prefix(root).unwrap_or(&f).display().to_string();
                samples.push(Sample { id, source: SampleSource::File(f), label: None });
            }
        }
        for (label, class) in classes.iter().enumerate() {
            for f in image_files(&root.join(class))? {
                let id = f.strip_prefix(root).unwrap_or(&f).display().to_string();
                samples.push(Sample { id, source: SampleSource::File(f), label: Some(label) });
            }
        }
        Ok(Dataset { name: root.display().to_string(), samples, classes })
    }

    /// A dataset held in memory (e.g. embedded in the binary).
    pub fn in_memory(name: &str, samples: Vec<(String, Arc<[u8]>, Option<usize>)>, classes: Vec<String>) -> Self {
        Dataset {
            name: name.to_string(),
            samples: samples
                .into_iter()
                .map(|(id, b, label)| Sample { id, source: SampleSource::Bytes(b), label })
                .collect(),
            classes,
        }
    }

    /// Keep the first `n` samples (deterministic subsetting for quick runs).
    pub fn truncate(&mut self, n: usize) {
        self.samples.truncate(n);
    }

    /// SHA-256 over every sample's id, label and bytes, in order. Unreadable files
    /// contribute their id and the marker `unreadable`, so the hash still identifies the set.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for s in &self.samples {
            h.update(s.id.as_bytes());
            h.update([0]);
            h.update(s.label.map(|l| l.to_string()).unwrap_or_default().as_bytes());
            h.update([0]);
            match s.bytes() {
                Ok(b) => h.update(Sha256::digest(&b)),
                Err(_) => h.update(b"unreadable"),
            }
        }
        hex::encode(h.finalize())
    }
}

/// The JPEG/PNG/BMP files directly in `dir`, sorted.
fn image_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| DataError::Io { path: dir.to_path_buf(), source })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())))
        .collect();
    files.sort();
    Ok(files)
}

/// Read a CSV manifest whole, refusing one larger than [`MAX_MANIFEST_BYTES`]
/// (checked before reading, and again while reading, for files whose size is
/// not known in advance) or with a line longer than [`MAX_MANIFEST_LINE_BYTES`].
fn read_manifest(csv_path: &Path) -> Result<String, DataError> {
    use std::io::Read;
    let io = |source| DataError::Io { path: csv_path.to_path_buf(), source };
    let too_large = |size: &str| DataError::ManifestTooLarge {
        path: csv_path.to_path_buf(),
        reason: format!("{size} bytes, more than the {MAX_MANIFEST_BYTES}-byte limit"),
    };
    let file = std::fs::File::open(csv_path).map_err(io)?;
    let declared = file.metadata().map_err(io)?.len();
    if declared > MAX_MANIFEST_BYTES {
        return Err(too_large(&declared.to_string()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(too_large(&format!("at least {}", bytes.len())));
    }
    if let Some((i, l)) = bytes.split(|&b| b == b'\n').enumerate().find(|(_, l)| l.len() > MAX_MANIFEST_LINE_BYTES) {
        return Err(DataError::Manifest {
            path: csv_path.to_path_buf(),
            line: i + 1,
            reason: format!("the line is {} bytes long, more than the {MAX_MANIFEST_LINE_BYTES}-byte limit", l.len()),
        });
    }
    String::from_utf8(bytes).map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_with_header_and_class_column() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("labels.csv"), "path,label,class\na.png,1,cat\nb.png,0,dog\n").unwrap();
        let ds = Dataset::open(dir.path()).unwrap();
        assert_eq!(ds.samples.len(), 2);
        assert_eq!(ds.samples[0].label, Some(1));
        assert_eq!(ds.classes, vec!["dog", "cat"]);
        assert!(matches!(&ds.samples[0].source, SampleSource::File(p) if p.ends_with("a.png")));
    }

    #[test]
    fn manifest_bad_label_names_line() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("m.csv");
        std::fs::write(&csv, "a.png,1\nb.png,seven\n").unwrap();
        let err = Dataset::open(&csv).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("seven"), "{err}");
    }

    #[test]
    fn oversized_manifests_are_refused_naming_the_file_and_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        // A 2 GiB line (a sparse file: nothing is written, and nothing may be read).
        let huge = dir.path().join("huge.csv");
        std::fs::File::create(&huge).unwrap().set_len(2 << 30).unwrap();
        let err = Dataset::open(&huge).unwrap_err().to_string();
        assert!(err.contains("huge.csv") && err.contains("2147483648 bytes") && err.contains("268435456-byte limit"), "{err}");
        // A 100 KiB line in a small file.
        let long = dir.path().join("long.csv");
        std::fs::write(&long, format!("a.png,0\n{},1\n", "x".repeat(100 << 10))).unwrap();
        let err = Dataset::open(&long).unwrap_err().to_string();
        assert!(err.contains("long.csv") && err.contains("line 2") && err.contains("65536-byte limit"), "{err}");
        // One row more than the row limit (8 bytes a row, 16 MB).
        let rows = dir.path().join("rows.csv");
        std::fs::write(&rows, "a.png,0\n".repeat(MAX_MANIFEST_ROWS + 1)).unwrap();
        let err = Dataset::open(&rows).unwrap_err().to_string();
        assert!(err.contains("rows.csv") && err.contains("more than 2000000 rows"), "{err}");
        // Exactly at the row limit is read.
        std::fs::write(&rows, "a.png,0\n".repeat(MAX_MANIFEST_ROWS)).unwrap();
        assert_eq!(Dataset::open(&rows).unwrap().samples.len(), MAX_MANIFEST_ROWS);
        // A class index that would size the class-name table (or overflow `l + 1`).
        let class = dir.path().join("class.csv");
        std::fs::write(&class, "a.png,0,cat\nb.png,18446744073709551615,dog\n").unwrap();
        let err = Dataset::open(&class).unwrap_err().to_string();
        assert!(err.contains("class.csv") && err.contains("line 2") && err.contains("1000000"), "{err}");
    }

    #[test]
    fn empty_dataset_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Dataset::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("has no images"), "{err}");
    }

    #[test]
    fn image_folder_sorts_classes() {
        let dir = tempfile::tempdir().unwrap();
        for (class, file) in [("zebra", "1.jpg"), ("ant", "2.PNG"), ("ant", "notes.txt")] {
            std::fs::create_dir_all(dir.path().join(class)).unwrap();
            std::fs::write(dir.path().join(class).join(file), b"x").unwrap();
        }
        let ds = Dataset::open(dir.path()).unwrap();
        assert_eq!(ds.classes, vec!["ant", "zebra"]);
        assert_eq!(ds.samples.len(), 2);
        assert_eq!(ds.samples[0].label, Some(0));
    }

    #[test]
    fn plain_folder_of_frames_is_unlabeled() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["b.jpg", "a.PNG", "notes.txt"] {
            std::fs::write(dir.path().join(file), b"x").unwrap();
        }
        let ds = Dataset::open(dir.path()).unwrap();
        assert_eq!(ds.samples.iter().map(|s| (s.id.as_str(), s.label)).collect::<Vec<_>>(), vec![("a.PNG", None), ("b.jpg", None)]);
        assert!(ds.classes.is_empty());
        // Only non-images: still "no images", naming the folder.
        let empty = tempfile::tempdir().unwrap();
        std::fs::write(empty.path().join("notes.txt"), b"x").unwrap();
        let err = Dataset::open(empty.path()).unwrap_err().to_string();
        assert!(err.contains("has no images") && err.contains(&empty.path().display().to_string()), "{err}");
    }

    #[test]
    fn hash_changes_with_content() {
        let a = Dataset::in_memory("a", vec![("x".into(), Arc::from(&b"1"[..]), Some(0))], vec![]);
        let b = Dataset::in_memory("a", vec![("x".into(), Arc::from(&b"2"[..]), Some(0))], vec![]);
        assert_ne!(a.sha256(), b.sha256());
        assert_eq!(a.sha256(), a.clone().sha256());
    }
}
