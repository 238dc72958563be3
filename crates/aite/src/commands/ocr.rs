//! `aite ocr IMAGE... --det --rec [--cls]`: PP-OCR on images, one JSON line per text line.

use crate::cli::OcrArgs;
use crate::common::engine_kind;
use aite_engine::{load_target, EngineKind, EngineOptions};
use aite_task::{Frame, OcrModel, OcrPipeline, TaskSpec};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub fn run(a: OcrArgs) -> Result<u8> {
    let spec = match Path::new(&a.task) {
        p if p.extension().is_some_and(|e| e == "toml") => {
            let body = std::fs::read_to_string(p).with_context(|| format!("cannot read the task file {}", p.display()))?;
            TaskSpec::from_toml(&body).with_context(|| format!("in {}", p.display()))?
        }
        _ => TaskSpec::parse_cli(&a.task)?,
    };
    let TaskSpec::Ocr(spec) = spec else { bail!("`aite ocr` runs an ocr task, not {:?}\n  hint: use --task ppocr-v4 (or ppocr-v4,key=value,...)", a.task) };
    for (role, path) in [("--det", Some(&a.det)), ("--rec", Some(&a.rec)), ("--cls", a.cls.as_ref())] {
        if let Some(p) = path.filter(|p| !p.exists()) {
            bail!("{role} {}: no such file", p.display());
        }
    }
    let report = aite_engine::inspect(&a.rec)?;
    let Some(character) = report.metadata.get("character") else {
        bail!("{} has no `character` entry in its ONNX metadata\n  hint: --rec takes a PP-OCR recogniser, which stores its dictionary there", a.rec.display());
    };
    let model = |path: &PathBuf| -> Result<OcrModel> {
        let kind = engine_kind(a.engine);
        Ok(match kind {
            EngineKind::Tract => {
                let (path, threads) = (path.clone(), a.threads);
                OcrModel::per_shape(move |shape| load_target(&path, EngineKind::Tract, &EngineOptions { threads, batch: 1, input_shape: Some(shape.to_vec()) }))
            }
            EngineKind::OnnxRuntime => OcrModel::Dynamic(load_target(path, kind, &EngineOptions { threads: a.threads, ..EngineOptions::default() })?),
        })
    };
    let cls = a.cls.as_ref().map(&model).transpose()?;
    let mut pipeline = OcrPipeline::new(spec, model(&a.det)?, cls, model(&a.rec)?, character)?;
    for image in &a.images {
        let bytes = std::fs::read(image).with_context(|| format!("cannot read {}", image.display()))?;
        let decoded = aite_data::decode(&image.display().to_string(), &bytes, aite_data::ColorOrder::Rgb)?;
        let frame = Frame::new(decoded.width, decoded.height, decoded.data.iter().map(|&v| v.clamp(0.0, 255.0) as u8).collect()).context("decoded image has no pixels")?;
        let lines = pipeline.read(&frame).with_context(|| format!("OCR of {}", image.display()))?;
        for l in &lines {
            println!("{}", serde_json::json!({ "image": image.display().to_string(), "box": l.quad, "text": l.text, "score": l.score, "rotated": l.rotated }));
        }
        eprintln!("{}: {} text lines", image.display(), lines.len());
    }
    Ok(0)
}
