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
    #[cfg(feature = "coco")]
    #[error("COCO evaluation against {path} failed: {reason}\n  hint: the ground truth is a COCO instances JSON (images, annotations with bbox [x, y, w, h] in pixels, categories)")]
    Coco { path: std::path::PathBuf, reason: String },
}
