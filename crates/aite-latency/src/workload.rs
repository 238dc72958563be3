//! What one query does: bare inference on prepared tensors, or a full frame
//! (decode, preprocess, inference, postprocess) for end-to-end latency.

use aite_data::{decode, PreprocessSpec};
use aite_target::{Target, TargetError, Tensor};
use aite_task::{Frame, OcrPipeline, OcrStage, Postprocess, TaskOutput, TaskSpec};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The work a query performs on one sample.
pub enum Workload {
    /// Preprocessed input sets: measures bare inference (stage `inference` only).
    Tensors(Vec<Vec<Tensor>>),
    /// Encoded frames with the spec that prepares them: end to end, "frame in to result out",
    /// postprocessed as a classifier (top-5 of the first output).
    Frames {
        frames: Vec<(String, Arc<[u8]>)>,
        spec: PreprocessSpec,
    },
    /// Encoded frames end to end, postprocessed by a declared task (e.g. a detector's
    /// box decoding, threshold and NMS); a postprocess error fails the query.
    TaskFrames {
        frames: Vec<(String, Arc<[u8]>)>,
        spec: PreprocessSpec,
        task: Postprocess,
    },
    /// Encoded frames read end to end by the PP-OCR pipeline (three models: text detector,
    /// direction classifier, recogniser): one query is the whole read of a frame, its stages
    /// split into the named [`OcrStage`] parts. The pipeline owns its models, so the target
    /// given to the run only names the workload in errors.
    Ocr {
        frames: Vec<(String, Arc<[u8]>)>,
        pipeline: Mutex<OcrPipeline>,
    },
}

/// The most named parts a workload's stages split into (the OCR read's ten).
pub const MAX_PARTS: usize = 10;

/// One of the four stages of an end-to-end query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Decode,
    Preprocess,
    Inference,
    Postprocess,
}

impl Stage {
    /// The stage an OCR part is counted in.
    fn of(part: OcrStage) -> Stage {
        match part {
            OcrStage::DetPreprocess | OcrStage::Crop | OcrStage::ClsPreprocess | OcrStage::RecPreprocess => Stage::Preprocess,
            OcrStage::DetInference | OcrStage::ClsInference | OcrStage::RecInference => Stage::Inference,
            OcrStage::DbPostprocess | OcrStage::ClsPostprocess | OcrStage::CtcDecode => Stage::Postprocess,
        }
    }
}

/// What a workload's per-frame result count counts: post-processing time grows with it, so
/// every end-to-end query of a detector or an OCR read records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counted {
    /// A detector's reported detections (after threshold, NMS and the cap).
    Detections,
    /// The DB text boxes of a PP-OCR text detector alone.
    TextBoxes,
    /// The text lines of a whole PP-OCR read (recognised, above `text_score`).
    TextLines,
}

impl Counted {
    /// Its column in `latency-samples.csv`.
    pub fn column(self) -> &'static str {
        match self {
            Counted::Detections => "detections",
            Counted::TextBoxes => "text_boxes",
            Counted::TextLines => "text_lines",
        }
    }
}

/// One sample's run: stage times, the named parts' times and items, and the result count.
pub(crate) struct SampleRun {
    pub stages: [u64; 4],
    pub parts: [u64; MAX_PARTS],
    pub items: [u32; MAX_PARTS],
    pub results: Option<u32>,
}

/// Which latency the run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyMode {
    Inference,
    EndToEnd,
}

impl Workload {
    pub fn len(&self) -> usize {
        match self {
            Workload::Tensors(t) => t.len(),
            Workload::Frames { frames, .. } | Workload::TaskFrames { frames, .. } | Workload::Ocr { frames, .. } => frames.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn mode(&self) -> LatencyMode {
        match self {
            Workload::Tensors(_) => LatencyMode::Inference,
            Workload::Frames { .. } | Workload::TaskFrames { .. } | Workload::Ocr { .. } => LatencyMode::EndToEnd,
        }
    }

    /// The named parts the stages split into, with the stage each is counted in; index `i`
    /// is `parts[i]` of [`run_parts`](Self::run_parts). Empty but for the OCR read.
    pub fn parts(&self) -> Vec<(&'static str, Stage)> {
        match self {
            Workload::Ocr { .. } => OcrStage::ALL.iter().map(|&p| (p.name(), Stage::of(p))).collect(),
            _ => vec![],
        }
    }

    /// What each frame's result count counts (`None`: bare inference, a classifier).
    pub fn counted(&self) -> Option<Counted> {
        match self {
            Workload::TaskFrames { task, .. } => match task.spec() {
                TaskSpec::Detector(_) => Some(Counted::Detections),
                TaskSpec::Ocr(_) => Some(Counted::TextBoxes),
                TaskSpec::Classifier => None,
            },
            Workload::Ocr { .. } => Some(Counted::TextLines),
            Workload::Tensors(_) | Workload::Frames { .. } => None,
        }
    }

    /// The task whose postprocess ends each query (`None` for bare inference and the OCR read).
    pub fn task(&self) -> Option<&TaskSpec> {
        match self {
            Workload::Tensors(_) => None,
            Workload::Frames { .. } => Some(&TaskSpec::Classifier),
            Workload::TaskFrames { task, .. } => Some(task.spec()),
            // The OCR read's spec is the pipeline's (`OcrPipeline::spec`), recorded by the caller.
            Workload::Ocr { .. } => None,
        }
    }

    /// Run sample `ix` once; returns `[decode, preprocess, inference, postprocess]` in ns.
    pub(crate) fn run(&self, target: &mut dyn Target, ix: usize) -> Result<[u64; 4], TargetError> {
        self.run_parts(target, ix).map(|r| r.stages)
    }

    /// [`run`](Self::run), with the named parts' times ([`parts`](Self::parts); zeros after them)
    /// and the result count ([`counted`](Self::counted)).
    pub(crate) fn run_parts(&self, target: &mut dyn Target, ix: usize) -> Result<SampleRun, TargetError> {
        if let Workload::Ocr { frames, pipeline } = self {
            return ocr_read(target, frames, pipeline, ix);
        }
        let (stages, results) = match self {
            Workload::Tensors(sets) => {
                let set = sets.get(ix).ok_or_else(|| no_sample(target, ix))?;
                let t0 = Instant::now();
                let out = target.infer(set)?;
                let t1 = Instant::now();
                std::hint::black_box(&out);
                Ok(([0, 0, (t1 - t0).as_nanos() as u64, 0], None))
            }
            Workload::Frames { .. } | Workload::TaskFrames { .. } => {
                let (tensor, decode_ns, preprocess_ns) = self.prepare(target, ix)?;
                let t2 = Instant::now();
                let out = target.infer(std::slice::from_ref(&tensor))?;
                let t3 = Instant::now();
                let (post_ns, results) = self.postprocess(target, &out)?;
                Ok(([decode_ns, preprocess_ns, ns(t2, t3), post_ns], results))
            }
            Workload::Ocr { .. } => unreachable!("read above"),
        }?;
        Ok(SampleRun { stages, parts: [0; MAX_PARTS], items: [0; MAX_PARTS], results })
    }

    /// Run samples `ixs` as one wave of concurrent inferences
    /// ([`Target::infer_concurrent`]); per sample `[decode, preprocess, inference,
    /// postprocess]` in ns, where inference is the wave's time (every sample was in flight
    /// for all of it), with its result count. Frames are decoded and preprocessed one by one
    /// before the wave.
    pub(crate) fn run_wave(&self, target: &mut dyn Target, ixs: &[usize]) -> Result<Vec<([u64; 4], Option<u32>)>, TargetError> {
        let mut stages = Vec::with_capacity(ixs.len());
        let mut prepared = Vec::new();
        let sets: Vec<&[Tensor]> = match self {
            Workload::Tensors(sets) => {
                for &ix in ixs {
                    stages.push(([0, 0, 0, 0], None));
                    sets.get(ix).ok_or_else(|| no_sample(target, ix))?;
                }
                ixs.iter().map(|&ix| sets[ix].as_slice()).collect()
            }
            Workload::Ocr { .. } => {
                return Err(TargetError::Inference {
                    target: target.info().name.clone(),
                    reason: "the OCR pipeline reads one frame at a time: the offline scenario's concurrent waves do not apply (use single-stream, multi-stream, server or periodic)".into(),
                })
            }
            Workload::Frames { .. } | Workload::TaskFrames { .. } => {
                for &ix in ixs {
                    let (tensor, decode_ns, preprocess_ns) = self.prepare(target, ix)?;
                    stages.push(([decode_ns, preprocess_ns, 0, 0], None));
                    prepared.push(tensor);
                }
                prepared.iter().map(std::slice::from_ref).collect()
            }
        };
        let t0 = Instant::now();
        let outs = target.infer_concurrent(&sets);
        let wave_ns = ns(t0, Instant::now());
        if outs.len() != sets.len() {
            return Err(TargetError::Inference {
                target: target.info().name.clone(),
                reason: format!("{} concurrent queries gave {} answers", sets.len(), outs.len()),
            });
        }
        for ((st, results), out) in stages.iter_mut().zip(outs) {
            let out = out?;
            st[2] = wave_ns;
            if !matches!(self, Workload::Tensors(_)) {
                (st[3], *results) = self.postprocess(target, &out)?;
            } else {
                std::hint::black_box(&out);
            }
        }
        Ok(stages)
    }

    /// Decode and preprocess frame `ix`: the tensor and both stage times in ns.
    fn prepare(&self, target: &dyn Target, ix: usize) -> Result<(Tensor, u64, u64), TargetError> {
        let (Workload::Frames { frames, spec } | Workload::TaskFrames { frames, spec, .. }) = self else {
            return Err(no_sample(target, ix));
        };
        let (id, bytes) = frames.get(ix).ok_or_else(|| no_sample(target, ix))?;
        let mismatch = |reason: String| TargetError::InputMismatch { target: target.info().name.clone(), reason };
        let t0 = Instant::now();
        let image = decode(id, bytes, spec.color).map_err(|e| mismatch(e.to_string()))?;
        let t1 = Instant::now();
        let tensor = spec.to_tensor(&image).map_err(|e| mismatch(e.to_string()))?;
        Ok((tensor, ns(t0, t1), ns(t1, Instant::now())))
    }
}

/// One OCR query: decode frame `ix` to RGB, then the pipeline's timed read.
fn ocr_read(target: &dyn Target, frames: &[(String, Arc<[u8]>)], pipeline: &Mutex<OcrPipeline>, ix: usize) -> Result<SampleRun, TargetError> {
    let (id, bytes) = frames.get(ix).ok_or_else(|| no_sample(target, ix))?;
    let fail = |reason: String| TargetError::Inference { target: target.info().name.clone(), reason };
    let mut pipeline = pipeline.lock().map_err(|_| fail("the OCR pipeline panicked in an earlier query".into()))?;
    let t0 = Instant::now();
    let image = decode(id, bytes, aite_data::ColorOrder::Rgb).map_err(|e| TargetError::InputMismatch { target: target.info().name.clone(), reason: e.to_string() })?;
    let frame = Frame::new(image.width, image.height, image.data.iter().map(|&v| v.clamp(0.0, 255.0) as u8).collect())
        .ok_or_else(|| TargetError::InputMismatch { target: target.info().name.clone(), reason: format!("{id}: the decoded image has no pixels") })?;
    let decode_ns = ns(t0, Instant::now());
    let (lines, t) = pipeline.read_timed(&frame).map_err(|e| fail(format!("OCR of {id}: {e}")))?;
    std::hint::black_box(&lines);
    let mut stages = [decode_ns, 0, 0, 0];
    let (mut parts, mut items) = ([0; MAX_PARTS], [0; MAX_PARTS]);
    for (i, &p) in OcrStage::ALL.iter().enumerate() {
        (parts[i], items[i]) = (t.get(p), t.items(p));
        stages[Stage::of(p) as usize] += t.get(p);
    }
    Ok(SampleRun { stages, parts, items, results: Some(lines.len() as u32) })
}

fn ns(a: Instant, b: Instant) -> u64 {
    (b - a).as_nanos() as u64
}

fn no_sample(target: &dyn Target, ix: usize) -> TargetError {
    TargetError::InputMismatch { target: target.info().name.clone(), reason: format!("the workload has no sample {ix}") }
}

static CLASSIFIER: std::sync::LazyLock<Postprocess> = std::sync::LazyLock::new(|| Postprocess::new(TaskSpec::Classifier));

impl Workload {
    /// Run the postprocess stage on one frame's outputs: its time in ns, and the number of
    /// detections or text boxes a declared task produced (`None` for a classifier).
    fn postprocess(&self, target: &dyn Target, outputs: &[Tensor]) -> Result<(u64, Option<u32>), TargetError> {
        let task = match self {
            Workload::TaskFrames { task, .. } => task,
            _ => &CLASSIFIER,
        };
        let t = Instant::now();
        let result = task.apply(outputs);
        let elapsed = ns(t, Instant::now());
        std::hint::black_box(&result);
        let counted = self.counted().is_some();
        match result {
            Ok(TaskOutput::Detections(d)) if counted => Ok((elapsed, Some(d.len() as u32))),
            Ok(TaskOutput::TextBoxes(b)) if counted => Ok((elapsed, Some(b.len() as u32))),
            Ok(_) => Ok((elapsed, None)),
            // A classifier's stand-in decoding never fails a query; a declared task's does.
            Err(_) if matches!(self, Workload::Frames { .. }) => Ok((elapsed, None)),
            Err(e) => Err(TargetError::Inference { target: target.info().name.clone(), reason: format!("postprocess: {e}") }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aite_target::NullTarget;

    fn frame() -> (String, Arc<[u8]>) {
        let mut png = Vec::new();
        image::RgbImage::new(4, 3).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        ("f.png".into(), Arc::from(png))
    }

    /// A declared task whose outputs do not fit fails the query naming the postprocess;
    /// the classifier stand-in on the same outputs does not.
    #[test]
    fn task_postprocess_runs_in_the_query_and_its_errors_fail_it() {
        let mut target = NullTarget::new(vec![1, 10]);
        let classifier = Workload::Frames { frames: vec![frame()], spec: Default::default() };
        assert!(classifier.run(&mut target, 0).is_ok());
        assert_eq!(classifier.task(), Some(&TaskSpec::Classifier));
        let detector = TaskSpec::parse_cli("ultraface-rfb320").unwrap();
        let work = Workload::TaskFrames { frames: vec![frame()], spec: Default::default(), task: Postprocess::new(detector.clone()) };
        let err = work.run(&mut target, 0).unwrap_err().to_string();
        assert!(err.contains("postprocess") && err.contains("output 1"), "{err}");
        assert!(work.run_wave(&mut target, &[0]).unwrap_err().to_string().contains("postprocess"));
        assert_eq!(work.task(), Some(&detector));
        assert_eq!(work.mode(), LatencyMode::EndToEnd);
    }

    /// A detector's end-to-end queries record their detections: three all-zero anchors above a
    /// threshold of -1, empty boxes (IoU 0) that suppress nothing, are three per frame; the
    /// multi-stream query of 2 frames records 6 and the summary 3 per frame over 2 x 5 frames;
    /// a classifier and bare inference count nothing.
    #[test]
    fn detector_queries_record_their_detections_per_frame() {
        use crate::{run, LatencyScenario, LatencySettings};
        let mut target = NullTarget::new(vec![1, 3, 5]);
        let task = TaskSpec::parse_cli("reference-detector,classes=1,score_threshold=-1").unwrap();
        let work = Workload::TaskFrames { frames: vec![frame(), frame()], spec: Default::default(), task: Postprocess::new(task) };
        assert_eq!(work.counted(), Some(Counted::Detections));
        assert_eq!(work.run_parts(&mut target, 0).unwrap().results, Some(3));
        assert_eq!(work.run_wave(&mut target, &[0, 1]).unwrap().iter().map(|r| r.1).collect::<Vec<_>>(), vec![Some(3), Some(3)]);
        let settings = LatencySettings { min_duration_ms: 0, min_queries: 5, max_queries: 5, warmup_queries: 0, ..Default::default() };
        let cancel = aite_target::Cancel::new();
        let report = run(&mut target, &work, &LatencyScenario::SingleStream, &settings, &cancel, &mut |_| {}).unwrap();
        assert!(report.records.iter().all(|r| r.results == Some(3)));
        let r = report.results_per_frame.clone().unwrap();
        assert_eq!((r.counted, r.frames, r.min, r.mean, r.max), (Counted::Detections, 5, 3, 3.0, 3));
        let report = run(&mut target, &work, &LatencyScenario::MultiStream { samples_per_query: 2 }, &settings, &cancel, &mut |_| {}).unwrap();
        assert!(report.records.iter().all(|r| r.results == Some(6)));
        let r = report.results_per_frame.unwrap();
        assert_eq!((r.frames, r.min, r.mean, r.max), (10, 3, 3.0, 3));
        let json = serde_json::to_value(run(&mut target, &work, &LatencyScenario::Offline, &LatencySettings { min_duration_ms: 0, min_queries: 4, max_queries: 4, warmup_queries: 0, ..Default::default() }, &cancel, &mut |_| {}).unwrap()).unwrap();
        assert_eq!((json["results_per_frame"]["counted"].as_str(), json["results_per_frame"]["max"].as_u64()), (Some("detections"), Some(3)), "{json}");
        let classifier = Workload::Frames { frames: vec![frame()], spec: Default::default() };
        let report = run(&mut NullTarget::new(vec![1, 10]), &classifier, &LatencyScenario::SingleStream, &settings, &cancel, &mut |_| {}).unwrap();
        assert!(report.results_per_frame.is_none() && report.records.iter().all(|r| r.results.is_none()));
        assert!(serde_json::to_value(&report).unwrap().get("results_per_frame").is_none());
        assert_eq!(Workload::Tensors(vec![]).counted(), None);
    }

    /// The OCR read as one query: every record's stages are the sums of its named parts (by
    /// the stage each part is counted in), the report lists the ten parts, and the offline
    /// scenario is refused with the scenarios that apply.
    #[test]
    fn ocr_read_is_one_query_with_named_parts() {
        use crate::{run, LatencyScenario, LatencySettings};
        use aite_task::{OcrModel, OcrSpec};
        // A detector whose map is empty: the read ends after the DB postprocess.
        let det = OcrModel::Dynamic(Box::new(NullTarget::new(vec![1, 1, 32, 32])));
        let rec = OcrModel::Dynamic(Box::new(NullTarget::new(vec![1, 4, 3])));
        let pipeline = OcrPipeline::new(OcrSpec::default(), det, None, rec, "a\nb").unwrap();
        let work = Workload::Ocr { frames: vec![frame(), frame()], pipeline: Mutex::new(pipeline) };
        assert_eq!(work.mode(), LatencyMode::EndToEnd);
        let parts = work.parts();
        assert_eq!(parts.len(), 10);
        assert_eq!((parts[1], parts[9]), (("det_inference", Stage::Inference), ("ctc_decode", Stage::Postprocess)));
        let mut target = NullTarget::new(vec![1]);
        let settings = LatencySettings { min_duration_ms: 0, min_queries: 5, warmup_queries: 1, ..Default::default() };
        let report = run(&mut target, &work, &LatencyScenario::SingleStream, &settings, &aite_target::Cancel::new(), &mut |_| {}).unwrap();
        assert_eq!(report.records.len(), 5);
        for r in &report.records {
            let sum = |st: Stage| parts.iter().zip(r.parts).filter(|((_, s), _)| *s == st).map(|(_, ns)| ns).sum::<u64>();
            assert_eq!((r.preprocess_ns, r.inference_ns, r.postprocess_ns), (sum(Stage::Preprocess), sum(Stage::Inference), sum(Stage::Postprocess)));
            assert!(r.decode_ns + r.preprocess_ns + r.inference_ns + r.postprocess_ns <= r.latency_ns());
            assert_eq!(r.parts[3..], [0; 7], "no text: crop, cls and rec did not run");
        }
        let names: Vec<&str> = report.stages.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names[..3], ["det_preprocess", "det_inference", "db_postprocess"]);
        // No text on the empty map: zero lines per frame, counted (not left out).
        assert!(report.records.iter().all(|r| r.results == Some(0)));
        let r = report.results_per_frame.clone().unwrap();
        assert_eq!((r.counted, r.frames, r.min, r.max), (Counted::TextLines, 5, 0, 0));
        assert!(report.stages.parts.iter().all(|p| p.latency.count == 5));
        // Counted, not timed: the detector's parts saw the 5 frames, crop, cls and rec nothing.
        assert_eq!(report.stages.parts.iter().map(|p| p.items).collect::<Vec<_>>(), [5, 5, 5, 0, 0, 0, 0, 0, 0, 0].map(Some));
        assert!(report.records.iter().all(|r| r.part_items == Some([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])));
        let err = run(&mut target, &work, &LatencyScenario::Offline, &settings, &aite_target::Cancel::new(), &mut |_| {}).unwrap_err().to_string();
        assert!(err.contains("offline") && err.contains("single-stream"), "{err}");
    }
}
