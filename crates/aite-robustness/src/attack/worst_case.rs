//! The per-sample worst case over several attacks (AutoAttack's rule: a sample is robust only
//! if no attack broke it; never an average), one per threat model (norm and epsilon), and
//! [`WorstCase`], what `suites.attack_worst_case.threat_models` lists: the figure when at least
//! two attack families ran at that norm and epsilon on the same samples, otherwise why there is
//! none. The random-noise baseline is not an attack family, one family's "worst case" is only
//! that family's robust accuracy again, and attacks at another radius never enter a group.

use super::{AttackKind, AttackReport};
use aite_accuracy::{wilson, Proportion};
use serde::{Deserialize, Serialize};

/// The worst case over the attacks of one threat model, as results.json records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum WorstCase {
    /// Two or more attack families on the same samples: robust only if none broke the sample.
    Measured { norm: String, epsilon: f32, attacks: Vec<String>, robust_accuracy: Proportion },
    /// Fewer than two attack families ran, or not on the same samples: no figure, and why.
    NotApplicable { norm: String, epsilon: f32, attacks: Vec<String>, why: String },
}

impl WorstCase {
    /// The threat model: (`linf` or `l2`, epsilon).
    pub fn threat_model(&self) -> (&str, f32) {
        match self {
            WorstCase::Measured { norm, epsilon, .. } | WorstCase::NotApplicable { norm, epsilon, .. } => (norm, *epsilon),
        }
    }
}

/// The attack family of `kind` (`square`, `spsa`, `hopskipjump`); `None` for the noise baseline.
pub fn family(kind: AttackKind) -> Option<&'static str> {
    match kind {
        AttackKind::SquareLinf | AttackKind::SquareL2 => Some("square"),
        AttackKind::SpsaLinf | AttackKind::SpsaL2 => Some("spsa"),
        AttackKind::HopSkipJump => Some("hopskipjump"),
        AttackKind::NoiseLinf | AttackKind::NoiseL2 => None,
    }
}

/// Per-sample worst case over several attacks on the same samples: robust only
/// if no attack broke it (AutoAttack's rule; never an average). `None` when the
/// reports do not cover the same samples (see [`different_samples`]).
pub fn worst_case(reports: &[&AttackReport]) -> Option<Proportion> {
    let first = reports.first()?;
    if different_samples(reports).is_some() {
        return None;
    }
    let n = first.records.len();
    let robust = (0..n).filter(|&i| reports.iter().all(|r| r.records[i].clean_correct && !r.records[i].success)).count();
    Some(wilson(robust, n))
}

/// Why `reports` are not on the same samples (same indices and ids, in the same order), naming
/// the first difference; `None` when they are.
pub fn different_samples(reports: &[&AttackReport]) -> Option<String> {
    let first = reports.first()?;
    for r in &reports[1..] {
        let (a, b) = (first.settings.kind.name(), r.settings.kind.name());
        if r.records.len() != first.records.len() {
            return Some(format!("the attacks ran on different samples: {a} on {}, {b} on {}", first.records.len(), r.records.len()));
        }
        if let Some((x, y)) = first.records.iter().zip(&r.records).find(|(x, y)| (x.index, &x.id) != (y.index, &y.id)) {
            return Some(format!("the attacks ran on different samples: {a} has sample {} ({}) where {b} has sample {} ({})", x.index, x.id, y.index, y.id));
        }
    }
    None
}

/// One [`WorstCase`] per threat model (norm and epsilon, in the order the attacks ran) over
/// `reports`: [`WorstCase::Measured`] over two or more families on the same samples, else
/// [`WorstCase::NotApplicable`] with why. Empty without reports.
pub fn worst_case_over(reports: &[&AttackReport]) -> Vec<WorstCase> {
    let mut groups: Vec<((&str, f32), Vec<&AttackReport>)> = Vec::new();
    for r in reports {
        let key = (r.settings.kind.norm(), r.settings.epsilon);
        match groups.iter_mut().find(|(k, _)| k.0 == key.0 && k.1.to_bits() == key.1.to_bits()) {
            Some((_, g)) => g.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    groups.into_iter().map(|((norm, epsilon), g)| over_one_threat_model(norm, epsilon, &g)).collect()
}

fn over_one_threat_model(norm: &str, epsilon: f32, reports: &[&AttackReport]) -> WorstCase {
    let attacks: Vec<String> = reports.iter().map(|r| r.settings.kind.name().to_string()).collect();
    let mut families: Vec<&str> = reports.iter().filter_map(|r| family(r.settings.kind)).collect();
    families.sort_unstable();
    families.dedup();
    let why = match families.as_slice() {
        [] => format!("no attack family ran ({} only: a baseline, not an attack); the worst case needs at least two", attacks.join(", ")),
        [one] => format!("one attack family ran: {one}; the worst case needs at least two"),
        _ => match (different_samples(reports), worst_case(reports)) {
            (None, Some(robust_accuracy)) => return WorstCase::Measured { norm: norm.into(), epsilon, attacks, robust_accuracy },
            (why, _) => why.unwrap_or_else(|| "no attack report".into()),
        },
    };
    WorstCase::NotApplicable { norm: norm.into(), epsilon, attacks, why }
}
