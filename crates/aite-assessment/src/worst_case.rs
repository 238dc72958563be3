//! The one reader of `suites.attack_worst_case`: the worst cases it records, one per threat
//! model (norm and epsilon), from `threat_models` (one entry each) or from an older package's
//! one record per norm (`linf`, `l2`), and which of them a requirement judges. An older record
//! carried the first attack's epsilon for all its attacks: its radius is known only when every
//! attack it lists ran at it (`suites.attack_<kind>.settings.epsilon`).

use serde_json::Value;

/// One recorded worst case: its threat model and where it sits in results.json.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedWorstCase<'a> {
    /// `linf` or `l2`.
    pub norm: String,
    /// The radius, when known.
    pub epsilon: Option<f64>,
    /// Why the radius is unknown, when it is.
    pub epsilon_unknown: Option<String>,
    /// JSON pointer of the record (`/suites/attack_worst_case/threat_models/0`).
    pub pointer: String,
    pub record: &'a Value,
}

impl RecordedWorstCase<'_> {
    /// The threat model in words: `linf 8/255`, `l2 0.5`.
    pub fn threat_model(&self) -> String {
        match self.epsilon {
            Some(e) => format!("{} {}", self.norm, epsilon_label(&self.norm, e)),
            None => format!("{} (epsilon unknown)", self.norm),
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
        self.epsilon.is_some_and(|e| same_radius(e, epsilon))
    }
}

/// Two radii equal to f32 precision (results.json writes an attack's epsilon as an f32).
fn same_radius(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6_f64.max(b.abs() * 1e-5)
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
/// suite recorded not applicable as a whole. `suite_named` gives another suite of the same
/// results.json by name: an older record's radius is checked against its attacks' own.
pub fn recorded<'a, 'b>(suite: &'a Value, suite_named: impl Fn(&str) -> Option<&'b Value>) -> Vec<RecordedWorstCase<'a>> {
    let number = |v: &Value| v.get("epsilon").and_then(Value::as_f64);
    if let Some(list) = suite.get("threat_models").and_then(Value::as_array) {
        return list
            .iter()
            .enumerate()
            .map(|(i, w)| RecordedWorstCase {
                norm: w.get("norm").and_then(Value::as_str).unwrap_or("unrecorded norm").to_string(),
                epsilon: number(w),
                epsilon_unknown: number(w).is_none().then(|| "no epsilon recorded".to_string()),
                pointer: format!("/suites/attack_worst_case/threat_models/{i}"),
                record: w,
            })
            .collect();
    }
    ["linf", "l2"]
        .iter()
        .filter_map(|&norm| suite.get(norm).filter(|w| w.is_object()).map(|w| (norm, w)))
        .map(|(norm, w)| {
            let mut older = RecordedWorstCase { norm: norm.into(), epsilon: None, epsilon_unknown: None, pointer: format!("/suites/attack_worst_case/{norm}"), record: w };
            match older_epsilon(&older, &suite_named) {
                Ok(e) => older.epsilon = Some(e),
                Err(why) => older.epsilon_unknown = Some(why),
            }
            older
        })
        .collect()
}

/// An older per-norm record's radius: its `epsilon` when every attack it lists ran at it, else
/// why it is unknown (that writer took the first attack's epsilon for all of them).
fn older_epsilon<'b>(w: &RecordedWorstCase, suite_named: &impl Fn(&str) -> Option<&'b Value>) -> Result<f64, String> {
    let epsilon = w.record.get("epsilon").and_then(Value::as_f64).ok_or("no epsilon recorded")?;
    let attacks = w.attacks();
    if attacks.is_empty() {
        return Err("no attack listed to check the record's epsilon against".into());
    }
    let own = |attack: &str| suite_named(&format!("attack_{}", attack.replace('-', "_"))).and_then(|s| s.pointer("/settings/epsilon")).and_then(Value::as_f64);
    let radii: Vec<Option<f64>> = attacks.iter().map(|a| own(a)).collect();
    if radii.iter().all(|r| r.is_some_and(|r| same_radius(r, epsilon))) {
        return Ok(epsilon);
    }
    let each: Vec<String> = attacks.iter().zip(&radii).map(|(a, r)| format!("{a} {}", r.map_or("not recorded".to_string(), |r| epsilon_label(&w.norm, r)))).collect();
    Err(format!("an older record gives its first attack's epsilon for all; the attacks' own: {}", each.join(", ")))
}

/// The worst case a requirement on `norm` (at `epsilon`, if it names one) judges, or why none
/// can be: no worst case of that threat model was recorded, or several of the norm were and
/// the requirement names no epsilon. A record of unknown radius is never at an `epsilon`.
pub fn select<'a, 'b>(suite: &'a Value, suite_named: impl Fn(&str) -> Option<&'b Value>, norm: &str, epsilon: Option<f64>) -> Result<RecordedWorstCase<'a>, String> {
    let all = recorded(suite, suite_named);
    let ran = if all.is_empty() {
        "none was recorded".to_string()
    } else {
        let each = |w: &RecordedWorstCase| format!("{} ({}{})", w.threat_model(), w.attacks().join(", "), w.epsilon_unknown.as_ref().map(|why| format!("; {why}")).unwrap_or_default());
        format!("recorded: {}", all.iter().map(each).collect::<Vec<_>>().join("; "))
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
