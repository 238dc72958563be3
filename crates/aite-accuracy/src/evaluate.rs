//! Running a dataset through a target and scoring top-k.

use crate::{wilson, Proportion};
use aite_data::{decode_with_decoder, DataError, DecoderTally, Dataset, PreprocessSpec};
use aite_target::{top_k, Cancel, Target, TargetError};
use serde::{Deserialize, Serialize};

/// Settings of an accuracy run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccuracyConfig {
    /// The `k` of top-k (top-1 is always reported).
    pub top_k: usize,
    /// Fail the run on the first undecodable image instead of counting it.
    pub strict: bool,
    /// Which output holds the class scores.
    pub output_index: usize,
    #[serde(skip)]
    pub cancel: Cancel,
}

impl Default for AccuracyConfig {
    fn default() -> Self {
        AccuracyConfig { top_k: 5, strict: false, output_index: 0, cancel: Cancel::new() }
    }
}

/// One sample's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prediction {
    pub id: String,
    /// Expected model output index (dataset label + label offset).
    pub label: usize,
    pub top1: usize,
    /// The top-1 score; NaN and infinities are written as strings (results schema).
    #[serde(with = "aite_evidence::non_finite::f32")]
    pub score: f32,
    pub in_top_k: bool,
}

/// A sample that could not be evaluated, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedSample {
    pub id: String,
    pub reason: String,
}

/// Result of an accuracy run: `evaluated` of `dataset_samples` samples examined, the others
/// named in `skipped` and counted in `missing_samples`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccuracyReport {
    pub dataset_samples: usize,
    pub evaluated: usize,
    pub top1: Proportion,
    pub top_k: Proportion,
    pub k: usize,
    pub skipped: Vec<SkippedSample>,
    /// Samples of the dataset that could not be evaluated (`skipped.len()`): the figures cover
    /// the others only, so the assessment judges no accuracy requirement on them. Older
    /// packages lack it; the assessment then reads `skipped`.
    #[serde(default)]
    pub missing_samples: usize,
    pub predictions: Vec<Prediction>,
    /// Which decoder produced each evaluated sample (absent in older packages).
    #[serde(default)]
    pub decoders: DecoderTally,
    /// True when the run was stopped early (Ctrl-C); figures cover `evaluated` samples.
    pub interrupted: bool,
}

/// Why an accuracy run could not complete.
#[derive(Debug, thiserror::Error)]
pub enum AccuracyError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("sample {id} has no label\n  hint: accuracy needs a label for every sample (second CSV column)")]
    Unlabeled { id: String },
    #[error("label {label} of sample {id} is outside the model's {classes} output classes\n  hint: check label_offset in the preprocessing spec (1001-class models need label_offset=1)")]
    LabelOutOfRange { id: String, label: i64, classes: usize },
    #[error("the preprocessed input has shape {got:?} but the model input `{name}` is {want}\n  hint: set resize/crop/layout in --preprocess so the tensor matches (see `aite inspect`)")]
    ShapeMismatch { name: String, got: Vec<usize>, want: String },
    #[error("model has {outputs} output(s); output index {index} does not exist")]
    NoSuchOutput { outputs: usize, index: usize },
}

/// Check that a preprocessed tensor fits the target's first input (fixed dims only).
pub(crate) fn check_shape(target: &dyn Target, shape: &[usize]) -> Result<(), AccuracyError> {
    if let Some(spec) = target.info().inputs.first() {
        let fits = spec.shape.len() == shape.len()
            && spec.shape.iter().zip(shape).all(|(d, &s)| match d {
                aite_target::Dim::Fixed(n) => *n == s,
                aite_target::Dim::Symbolic(_) => true,
            });
        if !fits {
            return Err(AccuracyError::ShapeMismatch {
                name: spec.name.clone(),
                got: shape.to_vec(),
                want: spec.shape_string(),
            });
        }
    }
    Ok(())
}

/// Evaluate top-1/top-k of `target` on `dataset`. `progress` is called after each sample.
pub fn evaluate(
    target: &mut dyn Target,
    dataset: &Dataset,
    spec: &PreprocessSpec,
    config: &AccuracyConfig,
    progress: &mut dyn FnMut(usize),
) -> Result<AccuracyReport, AccuracyError> {
    let k = config.top_k.max(1);
    let mut predictions = Vec::new();
    let mut skipped = Vec::new();
    let mut interrupted = false;
    let mut shape_checked = false;
    let mut decoders = DecoderTally::default();
    for (i, sample) in dataset.samples.iter().enumerate() {
        if config.cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let label = sample.label.ok_or_else(|| AccuracyError::Unlabeled { id: sample.id.clone() })?;
        let image = sample.bytes().and_then(|b| decode_with_decoder(&sample.id, &b, spec.color));
        let image = match image {
            Ok((img, decoder)) => {
                decoders.record(&sample.id, &decoder);
                img
            }
            Err(e) if !config.strict => {
                skipped.push(SkippedSample { id: sample.id.clone(), reason: e.to_string() });
                progress(i + 1);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let tensor = spec.to_tensor(&image)?;
        if !shape_checked {
            check_shape(target, tensor.shape())?;
            shape_checked = true;
        }
        let outputs = target.infer(std::slice::from_ref(&tensor))?;
        let scores = outputs.get(config.output_index).ok_or(AccuracyError::NoSuchOutput {
            outputs: outputs.len(),
            index: config.output_index,
        })?;
        let classes = scores.len();
        let expected = label as i64 + spec.label_offset;
        if expected < 0 || expected as usize >= classes {
            return Err(AccuracyError::LabelOutOfRange { id: sample.id.clone(), label: expected, classes });
        }
        let best = top_k(scores, k)?;
        predictions.push(Prediction {
            id: sample.id.clone(),
            label: expected as usize,
            top1: best[0].0,
            score: best[0].1,
            in_top_k: best.iter().any(|(c, _)| *c == expected as usize),
        });
        progress(i + 1);
    }
    let n = predictions.len();
    let top1 = predictions.iter().filter(|p| p.top1 == p.label).count();
    let topk = predictions.iter().filter(|p| p.in_top_k).count();
    Ok(AccuracyReport {
        dataset_samples: dataset.samples.len(),
        evaluated: n,
        top1: wilson(top1, n),
        top_k: wilson(topk, n),
        k,
        missing_samples: skipped.len(),
        skipped,
        predictions,
        decoders,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aite_target::{DType, Dim, TargetInfo, Tensor, TensorSpec};
    use std::sync::Arc;

    /// Predicts the class equal to the image's mean brightness / 100.
    struct BrightnessClassifier(TargetInfo);

    impl Target for BrightnessClassifier {
        fn info(&self) -> &TargetInfo {
            &self.0
        }
        fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
            let v = inputs[0].to_f32_vec();
            let mean = v.iter().sum::<f32>() / v.len() as f32;
            let mut scores = vec![0.0; 3];
            scores[((mean / 100.0) as usize).min(2)] = 1.0;
            Ok(vec![Tensor::f32(vec![1, 3], scores)?])
        }
    }

    fn png(value: u8) -> Arc<[u8]> {
        let mut out = Vec::new();
        image::GrayImage::from_pixel(4, 4, image::Luma([value]))
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        Arc::from(out)
    }

    fn classifier() -> BrightnessClassifier {
        BrightnessClassifier(TargetInfo {
            name: "brightness".into(),
            engine: "test".into(),
            engine_version: "0".into(),
            threads: 1,
            inputs: vec![TensorSpec { name: "x".into(), dtype: DType::F32, shape: vec![Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(4), Dim::Fixed(4)] }],
            outputs: vec![],
        })
    }

    fn dataset() -> Dataset {
        Dataset::in_memory(
            "t",
            vec![
                ("dark".into(), png(10), Some(0)),
                ("mid".into(), png(150), Some(1)),
                ("wrong".into(), png(250), Some(1)),
                ("broken".into(), Arc::from(&b"garbage"[..]), Some(0)),
            ],
            vec![],
        )
    }

    #[test]
    fn counts_hits_and_skips_undecodable() {
        let spec = PreprocessSpec::parse_cli("color=gray").unwrap();
        let r = evaluate(&mut classifier(), &dataset(), &spec, &AccuracyConfig::default(), &mut |_| {}).unwrap();
        assert_eq!(r.evaluated, 3);
        assert_eq!(r.top1.successes, 2);
        assert_eq!(r.skipped.len(), 1);
        assert_eq!(r.skipped[0].id, "broken");
        assert_eq!((r.missing_samples, r.dataset_samples), (1, 4), "1 of 4 samples not examined");
        assert_eq!(r.top_k.successes, 3, "top-5 over 3 classes always hits");
    }

    #[test]
    fn strict_mode_fails_on_undecodable() {
        let spec = PreprocessSpec::parse_cli("color=gray").unwrap();
        let cfg = AccuracyConfig { strict: true, ..Default::default() };
        let err = evaluate(&mut classifier(), &dataset(), &spec, &cfg, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
    }

    #[test]
    fn shape_mismatch_names_input_and_hint() {
        let spec = PreprocessSpec::parse_cli("color=gray,resize=8x8").unwrap();
        let err = evaluate(&mut classifier(), &dataset(), &spec, &AccuracyConfig::default(), &mut |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`x`") && msg.contains("[1,1,4,4]") && msg.contains("hint"), "{msg}");
    }

    #[test]
    fn label_offset_out_of_range() {
        let spec = PreprocessSpec::parse_cli("color=gray,label_offset=5").unwrap();
        let err = evaluate(&mut classifier(), &dataset(), &spec, &AccuracyConfig::default(), &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("label_offset"), "{err}");
    }

    #[test]
    fn cancel_stops_early_and_marks_interrupted() {
        let spec = PreprocessSpec::parse_cli("color=gray").unwrap();
        let cfg = AccuracyConfig::default();
        cfg.cancel.cancel();
        let r = evaluate(&mut classifier(), &dataset(), &spec, &cfg, &mut |_| {}).unwrap();
        assert!(r.interrupted);
        assert_eq!(r.evaluated, 0);
    }
}
