//! Renderers: the last pipeline stage, from evidence to something to read.
//!
//! A [`Renderer`] turns a [`Results`](aite_evidence::Results) document into text.
//! Renderers read only the evidence, never a live target, so a report can be
//! re-rendered from a run folder long after the device left the lab.
//!
//! - [`TerminalRenderer`]: tables for a person at a terminal.
//! - [`JsonRenderer`]: the `results.json` document itself, for machines (`--json`).
//! - [`render_package`]: every report of an evidence package ([`Package`]): the
//!   self-contained HTML report (with an optional PDF printed by headless Chromium),
//!   JUnit XML, OSCAL Assessment Results 1.1.3 with its assessment plan, and a
//!   CycloneDX 1.6 BOM with the models as ML components and the verdicts as
//!   declarations. The machine formats are byte-identical when re-rendered from the
//!   same package: dates and ids come from the package, never the clock.
//!
//! ```
//! use aite_report::{JsonRenderer, Renderer};
//! let results = aite_evidence::Results::new("demo", serde_json::json!({"engine": "tract"}));
//! let text = JsonRenderer.render(&results);
//! assert!(text.contains("aite.results/v1"));
//! ```
//!
//! Rendering a package (the caller writes the files into it and re-writes its manifest):
//!
//! ```no_run
//! let files = aite_report::render_package(std::path::Path::new("aite-runs/20261201-113723-demo"), &Default::default())?;
//! for f in &files {
//!     println!("{} ({} bytes)", f.name, f.bytes.len());
//! }
//! # Ok::<(), aite_report::ReportError>(())
//! ```

mod charts;
mod cyclonedx;
mod diagrams;
pub mod gap;
mod html;
mod junit;
mod oscal;
mod package;
mod pdf;
mod terminal;

pub use cyclonedx::{cyclonedx, SpecVersion};
pub use html::html;
pub use junit::junit;
pub use oscal::{oscal_ap, oscal_ar};
pub use package::{Assessment, GraphNode, LatencySample, ModelFacts, Package, RequirementResult, Verdict, RENDERED};
pub use pdf::{find_browser, print_pdf, Browser};
pub use terminal::{render_model_report, TerminalRenderer};

use aite_evidence::Results;
use std::path::{Path, PathBuf};

/// Turns evidence into one output format.
pub trait Renderer {
    fn render(&self, results: &Results) -> String;
}

/// Pretty JSON of the results document.
pub struct JsonRenderer;

impl Renderer for JsonRenderer {
    fn render(&self, results: &Results) -> String {
        serde_json::to_string_pretty(results).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// What [`render_package`] renders.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Also print `report.pdf` (needs a Chromium on PATH; see [`find_browser`]).
    pub pdf: bool,
    /// A lab's minijinja template instead of the embedded one.
    pub template: Option<PathBuf>,
}

/// One rendered file, to be written into the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Errors while reading a package or rendering its reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{dir} is not a folder\n  hint: pass the run folder an aite command printed (`evidence: ...`)")]
    NotAPackage { dir: PathBuf },
    #[error("{file} is missing: {hint}")]
    Missing { file: PathBuf, hint: &'static str },
    #[error("cannot read {file}: {reason}")]
    Parse { file: PathBuf, reason: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template {file}: {reason}")]
    Template { file: String, reason: String },
    #[error("cannot render {format}: {reason}")]
    Render { format: &'static str, reason: String },
    #[error("{browser} could not print the PDF: {reason}")]
    Pdf { browser: PathBuf, reason: String },
}

/// Render every report of the package in `dir`: report.html, junit.xml,
/// oscal-ar.json, oscal-ap.json, bom.cdx.json and, with `opts.pdf` and a browser
/// on PATH, report.pdf. Nothing is written; the caller puts the files in the package.
pub fn render_package(dir: &Path, opts: &RenderOptions) -> Result<Vec<RenderedFile>, ReportError> {
    let package = Package::read(dir)?;
    let template = match &opts.template {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|source| ReportError::Io { path: path.clone(), source })?),
        None => None,
    };
    let template_name = opts.template.as_ref().map(|p| p.display().to_string());
    let report = html(&package, template.as_deref().map(|t| (template_name.as_deref().unwrap_or("template"), t)))?;
    let mut files = vec![
        RenderedFile { name: "report.html".into(), bytes: report.clone().into_bytes() },
        RenderedFile { name: "junit.xml".into(), bytes: junit(&package)? },
        RenderedFile { name: "oscal-ar.json".into(), bytes: pretty(&oscal_ar(&package))? },
        RenderedFile { name: "oscal-ap.json".into(), bytes: pretty(&oscal_ap(&package))? },
        RenderedFile { name: "bom.cdx.json".into(), bytes: pretty(&cyclonedx(&package, SpecVersion::V1_6)?)? },
    ];
    if opts.pdf {
        if let Some(browser) = find_browser() {
            files.push(RenderedFile { name: "report.pdf".into(), bytes: print_pdf(&browser, &report)? });
        }
    }
    Ok(files)
}

fn pretty(v: &serde_json::Value) -> Result<Vec<u8>, ReportError> {
    let mut bytes = serde_json::to_vec_pretty(v).map_err(|e| ReportError::Render { format: "json", reason: e.to_string() })?;
    bytes.push(b'\n');
    Ok(bytes)
}
