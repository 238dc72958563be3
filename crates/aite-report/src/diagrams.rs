//! Architecture facts as SVG: the model graph summarised by stage, and the
//! evaluated setup with the measured stage latencies on its arrows.
//!
//! Stages of a model graph (nodes in file order): the **stem** runs to the first
//! compute node (Conv, ConvTranspose, Gemm, MatMul) and the non-compute nodes
//! right after it; the **head** starts at the last run of Flatten / Reshape /
//! GlobalAveragePool / GlobalMaxPool before the last compute node (else at the
//! last compute node); the **blocks** are everything between. QuantizeLinear and
//! DequantizeLinear are counted as the stage's quantization, not as operators; a
//! change of precision between stages is drawn as a quantization boundary.

use crate::charts::esc;
use crate::package::{GraphNode, ModelFacts};
use std::collections::BTreeMap;

/// One stage of a model graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: &'static str,
    /// Operator -> count, Q/DQ excluded.
    pub operators: BTreeMap<String, usize>,
    pub parameters: u64,
    /// QuantizeLinear + DequantizeLinear nodes in the stage.
    pub qdq_nodes: usize,
}

const COMPUTE: &[&str] = &["Conv", "ConvTranspose", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QGemm"];
const TO_HEAD: &[&str] = &["Flatten", "Reshape", "GlobalAveragePool", "GlobalMaxPool", "QLinearGlobalAveragePool"];
const QDQ: &[&str] = &["QuantizeLinear", "DequantizeLinear"];

/// Split a graph into stem, blocks and head (empty stages dropped).
pub fn stages(graph: &[GraphNode]) -> Vec<Stage> {
    let is_compute = |n: &GraphNode| COMPUTE.contains(&n.op.as_str());
    let first = graph.iter().position(is_compute);
    let last = graph.iter().rposition(is_compute);
    let (stem_end, head_start) = match (first, last) {
        (Some(f), Some(l)) => {
            // The stem takes the first compute node and what follows it up to the next compute node.
            let next = graph[f + 1..].iter().position(is_compute).map(|i| f + 1 + i).unwrap_or(graph.len());
            // The head starts at the last run of Flatten/Reshape/global pools (and their Q/DQ) before the last compute node.
            let head = match graph[f + 1..l].iter().rposition(|n| TO_HEAD.contains(&n.op.as_str())) {
                Some(i) => {
                    let mut h = f + 1 + i;
                    while h > f + 1 && (TO_HEAD.contains(&graph[h - 1].op.as_str()) || QDQ.contains(&graph[h - 1].op.as_str())) {
                        h -= 1;
                    }
                    h
                }
                None => l,
            };
            (next.min(head), head)
        }
        _ => (graph.len(), graph.len()),
    };
    let mut out = Vec::new();
    for (name, range) in [("stem", 0..stem_end), ("blocks", stem_end..head_start), ("head", head_start..graph.len())] {
        let mut st = Stage { name, operators: BTreeMap::new(), parameters: 0, qdq_nodes: 0 };
        for n in &graph[range] {
            st.parameters += n.parameters;
            if QDQ.contains(&n.op.as_str()) {
                st.qdq_nodes += 1;
            } else {
                *st.operators.entry(n.op.clone()).or_insert(0) += 1;
            }
        }
        if st.qdq_nodes > 0 || !st.operators.is_empty() {
            out.push(st);
        }
    }
    out
}

fn tensor_label(t: &serde_json::Value) -> String {
    let shape: Vec<String> = t.get("shape").and_then(|s| s.as_array()).map(|s| s.iter().map(|d| d.as_str().map(str::to_string).unwrap_or_else(|| d.to_string())).collect()).unwrap_or_default();
    format!("{} {} [{}]", t.get("name").and_then(|n| n.as_str()).unwrap_or(""), t.get("dtype").and_then(|n| n.as_str()).unwrap_or(""), shape.join("×"))
}

/// The model graph by stage, left to right: input → stem → blocks → head → output.
/// Without `graph` in the facts, one box with the whole model's operators and a note saying why.
pub fn model_graph(m: &ModelFacts) -> String {
    let title = format!("{} — {} parameters, quantization {}", m.name.as_deref().unwrap_or(&m.path), m.parameters, m.quantization);
    // (stage name, lines, quantized) per box, and a note when the stages are unknown.
    type Boxes = Vec<(String, Vec<String>, bool)>;
    let (boxes, note): (Boxes, Option<&str>) = match &m.graph {
        Some(g) => (
            stages(g)
                .into_iter()
                .map(|s| {
                    let mut lines: Vec<String> = s.operators.iter().map(|(op, n)| format!("{op} ×{n}")).collect();
                    lines.push(format!("{} parameters", s.parameters));
                    if s.qdq_nodes > 0 {
                        lines.push(format!("{} Q/DQ nodes", s.qdq_nodes));
                    }
                    (s.name.to_string(), lines, s.qdq_nodes > 0)
                })
                .collect(),
            None,
        ),
        None => {
            let mut lines: Vec<String> = m.operators.iter().map(|(op, n)| format!("{op} ×{n}")).collect();
            lines.push(format!("{} parameters", m.parameters));
            (vec![("whole model".into(), lines, m.quantization != "none")], Some("stage breakdown not available: the package's model file has no node order (`graph`)"))
        }
    };
    let mut all: Vec<(String, Vec<String>, Option<bool>)> = vec![("input".into(), m.inputs.iter().map(tensor_label).collect(), None)];
    all.extend(boxes.into_iter().map(|(n, l, q)| (n, l, Some(q))));
    all.push(("output".into(), m.outputs.iter().map(tensor_label).collect(), None));
    let (bw, gap, top) = (150.0, 36.0, 44.0);
    let rows = all.iter().map(|b| b.1.len()).max().unwrap_or(1).max(1) as f64;
    let bh = 26.0 + 14.0 * rows;
    let w = 20.0 + (bw + gap) * all.len() as f64;
    let h = top + bh + 46.0;
    let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11"><text x="10" y="18" font-size="13">{}</text>"#, esc(&title));
    let mut prev_q: Option<bool> = None;
    for (i, (name, lines, quant)) in all.iter().enumerate() {
        let x = 10.0 + (bw + gap) * i as f64;
        let fill = match quant {
            Some(true) => "#fdebd0",
            Some(false) => "#d6eaf8",
            None => "#eeeeee",
        };
        s += &format!(r##"<rect x="{x}" y="{top}" width="{bw}" height="{bh}" rx="6" fill="{fill}" stroke="#555"/><text x="{}" y="{}" text-anchor="middle" font-weight="bold">{}</text>"##, x + bw / 2.0, top + 16.0, esc(name));
        for (j, l) in lines.iter().enumerate() {
            s += &format!(r#"<text x="{}" y="{}">{}</text>"#, x + 6.0, top + 32.0 + 14.0 * j as f64, esc(l));
        }
        if i > 0 {
            let ax = x - gap;
            s += &format!(r##"<line x1="{ax}" y1="{y}" x2="{}" y2="{y}" stroke="#333" stroke-width="1.5"/><polygon points="{},{} {},{} {},{}" fill="#333"/>"##, x - 2.0, x - 8.0, top + bh / 2.0 - 4.0, x - 2.0, top + bh / 2.0, x - 8.0, top + bh / 2.0 + 4.0, y = top + bh / 2.0);
            // A precision change between neighbouring stages (input and output count as float).
            let q = quant.unwrap_or(false);
            if prev_q.is_some_and(|p| p != q) {
                s += &format!(r##"<line x1="{mx}" y1="{}" x2="{mx}" y2="{}" stroke="#c0392b" stroke-width="2" stroke-dasharray="4 3"/><text x="{mx}" y="{}" text-anchor="middle" fill="#c0392b">{}</text>"##, top - 6.0, top + bh + 6.0, top + bh + 20.0, if q { "float → int8" } else { "int8 → float" }, mx = x - gap / 2.0);
            }
        }
        prev_q = Some(quant.unwrap_or(false));
    }
    if let Some(n) = note {
        s += &format!(r##"<text x="10" y="{}" fill="#c0392b">{}</text>"##, h - 8.0, esc(n));
    }
    s += "</svg>";
    s
}

/// The evaluated setup: host and engine, and the data path frame → decode → preprocess → infer → postprocess → result,
/// each arrow labelled with the measured mean (and p99) of the stage it enters.
pub fn setup(host: &str, engine: &str, model: &str, stages: &[(String, f64, f64)]) -> String {
    let names = ["frame", "decode", "preprocess", "inference", "postprocess", "result"];
    let (bw, gap) = (96.0, 62.0);
    let w = 20.0 + (bw + gap) * names.len() as f64;
    let mut s = format!(r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="190" viewBox="0 0 {w} 190" font-family="sans-serif" font-size="11"><rect x="4" y="4" width="{}" height="180" rx="8" fill="none" stroke="#888" stroke-dasharray="5 4"/><text x="14" y="22" font-size="13">{}</text><text x="14" y="40">engine: {} — model: {}</text>"##, w - 8.0, esc(host), esc(engine), esc(model));
    for (i, n) in names.iter().enumerate() {
        let x = 10.0 + (bw + gap) * i as f64;
        let fill = if *n == "inference" { "#fdebd0" } else { "#d6eaf8" };
        s += &format!(r##"<rect x="{x}" y="80" width="{bw}" height="40" rx="6" fill="{fill}" stroke="#555"/><text x="{}" y="104" text-anchor="middle">{n}</text>"##, x + bw / 2.0);
        if i > 0 {
            let ax = x - gap;
            s += &format!(r##"<line x1="{ax}" y1="100" x2="{}" y2="100" stroke="#333" stroke-width="1.5"/><polygon points="{},96 {},100 {},104" fill="#333"/>"##, x - 2.0, x - 8.0, x - 2.0, x - 8.0);
            let label = match stages.iter().find(|st| st.0 == *n) {
                Some((_, mean, p99)) => format!("{mean:.4} ms (p99 {p99:.4})"),
                None if *n == "result" => String::new(),
                None => "not measured".into(),
            };
            if !label.is_empty() {
                s += &format!(r#"<text x="{}" y="{}" text-anchor="middle" font-size="10">{}</text>"#, ax + gap / 2.0, if i % 2 == 0 { 72.0 } else { 140.0 }, esc(&label));
            }
        }
    }
    s += r#"<text x="14" y="172" font-size="10">Latencies: mean per query of the stage the arrow enters, from results.json suites.latency.stages (end-to-end single-stream).</text></svg>"#;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(ops: &[(&str, u64)]) -> Vec<GraphNode> {
        ops.iter().map(|&(op, parameters)| GraphNode { op: op.into(), parameters }).collect()
    }

    #[test]
    fn a_cnn_splits_into_stem_blocks_and_head() {
        // Hand-split: stem = Conv Relu MaxPool; blocks = Conv Relu Conv Relu; head = GlobalAveragePool Flatten Gemm.
        let graph = g(&[("Conv", 80), ("Relu", 0), ("MaxPool", 0), ("Conv", 1000), ("Relu", 0), ("Conv", 2000), ("Relu", 0), ("GlobalAveragePool", 0), ("Flatten", 0), ("Gemm", 330)]);
        let s = stages(&graph);
        assert_eq!(s.iter().map(|s| s.name).collect::<Vec<_>>(), ["stem", "blocks", "head"]);
        assert_eq!(s.iter().map(|s| s.parameters).collect::<Vec<_>>(), [80, 3000, 330]);
        assert_eq!(s[0].operators.get("MaxPool"), Some(&1));
        assert_eq!(s[1].operators.get("Conv"), Some(&2));
        assert_eq!(s[2].operators.keys().map(String::as_str).collect::<Vec<_>>(), ["Flatten", "Gemm", "GlobalAveragePool"]);
    }

    #[test]
    fn qdq_nodes_are_quantization_not_operators() {
        let graph = g(&[("QuantizeLinear", 0), ("DequantizeLinear", 0), ("DequantizeLinear", 72), ("Conv", 8), ("Relu", 0), ("Flatten", 0), ("DequantizeLinear", 640), ("Gemm", 10)]);
        let s = stages(&graph);
        assert_eq!(s[0].name, "stem");
        assert_eq!(s[0].qdq_nodes, 3);
        assert!(!s[0].operators.contains_key("QuantizeLinear"));
        assert_eq!(s.iter().map(|s| s.parameters).sum::<u64>(), 730);
    }

    #[test]
    fn without_compute_everything_is_one_stage() {
        let s = stages(&g(&[("Relu", 0), ("Softmax", 0)]));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].operators.len(), 2);
    }
}
