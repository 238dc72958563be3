//! The one reader of `suites.attack_worst_case`: the worst cases it records, one per threat
//! model (norm and epsilon), from `threat_models` (one entry each) or from an older package's
//! one record per norm (`linf`, `l2`), and which of them a requirement judges.

use serde_json::Value;

/// One recorded worst case: its threat model and where it sits in results.json.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedWorstCase<'a> {
    /// `linf` or `l2`.
    pub norm: String,
    /// The radius, when recorded.
    pub epsilon: Option<f64>,
    /// JSON pointer of the record (`/suites/attack_worst_case/threat_models/0`).
    pub pointer: String,
    pub record: &'a Value,
}

impl RecordedWorstCase<'_> {
    /// The threat model in words: `linf 8/255`, `l2 0.5`.
    pub fn threat_model(&self) -> String {
        match self.epsilon {
            Some(e) => format!("{} {}", self.norm, epsilon_label(&self.norm, e)),
            None => format!("{} (epsilon not recorded)", self.norm),
        }
    }

    /// The attacks it combines, in run order.
    pub fn attacks(&self) -> Vec<&str> {
        self.record.get("attacks").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
    }

    /// `measured`, `not-applicable`, or `None` (an older record with the figure only).
    pub fn status(&self) -> Option<&str> {
        self.record.get("status").and_then(Value::as_str)
    }

    /// Why there is no figure, for a not-applicable record.
    pub fn why(&self) -> Option<&str> {
        self.record.get("why").and_then(Value::as_str)
    }

    /// Whether this is the worst case at `epsilon` (equal to f32 precision).
    pub fn at(&self, epsilon: f64) -> bool {
        self.epsilon.is_some_and(|e| (e - epsilon).abs() <= 1e-6_f64.max(epsilon.abs() * 1e-5))
    }
}

/// An L-inf radius in grey levels (`8/255`) when it is a whole or half number of them, else
/// the number (`0.5`).
pub fn epsilon_label(norm: &str, epsilon: f64) -> String {
    let levels = epsilon * 255.0;
    if norm == "linf" && ((levels * 2.0).round() - levels * 2.0).abs() < 1e-3 && levels > 0.0 {
        return format!("{}/255", (levels * 2.0).round() / 2.0);
    }
    let s = format!("{:.6}", epsilon);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The worst cases `suite` (`suites.attack_worst_case`) records, in record order; empty for a
/// suite recorded not applicable as a whole.
pub fn recorded(suite: &Value) -> Vec<RecordedWorstCase<'_>> {
    let number = |v: &Value| v.get("epsilon").and_then(Value::as_f64);
    if let Some(list) = suite.get("threat_models").and_then(Value::as_array) {
        return list
            .iter()
            .enumerate()
            .map(|(i, w)| RecordedWorstCase {
                norm: w.get("norm").and_then(Value::as_str).unwrap_or("unrecorded norm").to_string(),
                epsilon: number(w),
                pointer: format!("/suites/attack_worst_case/threat_models/{i}"),
                record: w,
            })
            .collect();
    }
    ["linf", "l2"]
        .iter()
        .filter_map(|&norm| suite.get(norm).filter(|w| w.is_object()).map(|w| RecordedWorstCase { norm: norm.into(), epsilon: number(w), pointer: format!("/suites/attack_worst_case/{norm}"), record: w }))
        .collect()
}

/// The worst case a requirement on `norm` (at `epsilon`, if it names one) judges, or why none
/// can be: no worst case of that threat model was recorded, or several of the norm were and
/// the requirement names no epsilon.
pub fn select<'a>(suite: &'a Value, norm: &str, epsilon: Option<f64>) -> Result<RecordedWorstCase<'a>, String> {
    let all = recorded(suite);
    let ran = if all.is_empty() {
        "none was recorded".to_string()
    } else {
        format!("recorded: {}", all.iter().map(|w| format!("{} ({})", w.threat_model(), w.attacks().join(", "))).collect::<Vec<_>>().join("; "))
    };
    let of_norm: Vec<&RecordedWorstCase> = all.iter().filter(|w| w.norm == norm).collect();
    let found: Vec<&RecordedWorstCase> = match epsilon {
        Some(e) => of_norm.into_iter().filter(|w| w.at(e)).collect(),
        None => of_norm,
    };
    match (found.as_slice(), epsilon) {
        ([one], _) => Ok((*one).clone()),
        ([], Some(e)) => Err(format!("no worst case at {norm} {}: {ran}", epsilon_label(norm, e))),
        ([], None) => Err(format!("no {norm} worst case: {ran}")),
        (_, _) => Err(format!("{} {norm} worst cases, at different radii, and the requirement names no `epsilon`: {ran}", found.len())),
    }
}
