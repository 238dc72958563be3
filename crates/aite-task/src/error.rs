//! Errors raised while reading a task spec or decoding a model's outputs.

/// What went wrong with a task spec or with the outputs it was applied to.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("invalid task spec: {reason}\n  hint: {hint}")]
    Spec { reason: String, hint: String },
    #[error("the model's outputs do not fit the task: {reason}\n  hint: {hint}")]
    Outputs { reason: String, hint: String },
    #[error("the OCR pipeline's {stage} model failed: {source}")]
    Model { stage: &'static str, source: aite_target::TargetError },
    #[error("OCR labels {}: {reason}\n  hint: one image per line: PATH<TAB>[{{\"transcription\": \"...\", \"points\": [[x, y], ...]}}, ...] (PaddleOCR's Label.txt; docs/tasks.md)", at(.path, *.line))]
    Labels { path: std::path::PathBuf, line: usize, reason: String },
    #[cfg(feature = "coco")]
    #[error("COCO evaluation against {path} failed: {reason}\n  hint: the ground truth is a COCO instances JSON (images, annotations with bbox [x, y, w, h] in pixels, categories)")]
    Coco { path: std::path::PathBuf, reason: String },
    #[cfg(feature = "coco")]
    #[error("detection labels {path}: {reason}")]
    DetectionLabels { path: std::path::PathBuf, reason: String },
}

/// `path:line`, or `path` for the file as a whole (line 0).
fn at(path: &std::path::Path, line: usize) -> String {
    if line == 0 {
        path.display().to_string()
    } else {
        format!("{}:{line}", path.display())
    }
}
