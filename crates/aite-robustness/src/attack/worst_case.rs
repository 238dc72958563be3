//! The per-sample worst case over several attacks (AutoAttack's rule: a sample is robust only
//! if no attack broke it; never an average), and [`WorstCase`], what
//! `suites.attack_worst_case.<norm>` records: the figure when at least two attack families ran
//! on the same samples, otherwise why there is none. The random-noise baseline is not an
//! attack family, and one family's "worst case" is only that family's robust accuracy again.

use super::{AttackKind, AttackReport};
use aite_accuracy::{wilson, Proportion};
use serde::{Deserialize, Serialize};

/// The worst case over the attacks of one norm, as results.json records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum WorstCase {
    /// Two or more attack families on the same samples: robust only if none broke the sample.
    Measured { attacks: Vec<String>, epsilon: f32, robust_accuracy: Proportion },
    /// Fewer than two attack families ran: no figure, and why.
    NotApplicable { attacks: Vec<String>, epsilon: f32, why: String },
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
/// reports cover different numbers of samples.
pub fn worst_case(reports: &[&AttackReport]) -> Option<Proportion> {
    let first = reports.first()?;
    let n = first.records.len();
    if reports.iter().any(|r| r.records.len() != n) {
        return None;
    }
    let robust = (0..n).filter(|&i| reports.iter().all(|r| r.records[i].clean_correct && !r.records[i].success)).count();
    Some(wilson(robust, n))
}

/// What to record for the attacks of one norm (`reports`, in run order): [`WorstCase::Measured`]
/// over two or more families, else [`WorstCase::NotApplicable`] naming the family that ran.
/// `None` without reports or when they cover different numbers of samples.
pub fn worst_case_over(reports: &[&AttackReport]) -> Option<WorstCase> {
    let robust_accuracy = worst_case(reports)?;
    let attacks: Vec<String> = reports.iter().map(|r| r.settings.kind.name().to_string()).collect();
    let epsilon = reports[0].settings.epsilon;
    let mut families: Vec<&str> = reports.iter().filter_map(|r| family(r.settings.kind)).collect();
    families.sort_unstable();
    families.dedup();
    let why = match families.as_slice() {
        [] => format!("no attack family ran ({} only: a baseline, not an attack); the worst case needs at least two", attacks.join(", ")),
        [one] => format!("one attack family ran: {one}; the worst case needs at least two"),
        _ => return Some(WorstCase::Measured { attacks, epsilon, robust_accuracy }),
    };
    Some(WorstCase::NotApplicable { attacks, epsilon, why })
}
