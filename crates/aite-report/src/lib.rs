//! Renderers: the last pipeline stage, from evidence to something to read.
//!
//! A [`Renderer`] turns a [`Results`](aite_evidence::Results) document into text.
//! Renderers read only the evidence, never a live target, so a report can be
//! re-rendered from a run folder long after the device left the lab.
//!
//! - [`TerminalRenderer`]: tables for a person at a terminal.
//! - [`JsonRenderer`]: the `results.json` document itself, for machines (`--json`).
//!
//! ```
//! use aite_report::{JsonRenderer, Renderer};
//! let results = aite_evidence::Results::new("demo", serde_json::json!({"engine": "tract"}));
//! let text = JsonRenderer.render(&results);
//! assert!(text.contains("aite.results/v1"));
//! ```

mod terminal;

pub use terminal::{render_model_report, TerminalRenderer};

use aite_evidence::Results;

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
