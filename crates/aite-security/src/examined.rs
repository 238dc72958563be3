//! What each rule examined, and the verdict that follows from it.
//!
//! Checks record every subject they looked at (an account, an ELF file, a boot
//! script) and every subject they found but could not open, in a [`Ledger`].
//! [`Ledger::outcomes`] then decides each rule: a failure fails it; an
//! incomplete scan, an unopened subject or a rule that could not run makes it
//! "not checked"; nothing to examine makes it "not applicable" with the reason;
//! only examined subjects without a failure, on a complete scan, pass.
//!
//! The network probe (`aite-network`) decides its rules with the same ledger over its own
//! [`Catalogue`] ([`Ledger::new`]); [`Ledger::default`] is the static scan's.

use crate::finding::{Finding, Rule, RuleStatus, RULES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Subjects listed per rule in the evidence; counts are always complete.
pub const SUBJECT_LIST_MAX: usize = 200;

/// A subject a rule found but did not examine, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotExamined {
    pub subject: String,
    pub cause: String,
}

/// Why a rule is "not checked".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotCheckedCause {
    /// The rule could not run at all (no vulnerability feed, an empty one).
    RuleNotRun,
    /// The scan did not cover the whole input, so no rule passes.
    IncompleteScan,
    /// Some of its subjects were present but not examined (listed in `not_examined`).
    SubjectsNotExamined,
}

/// One rule's conclusion with what it stands on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleOutcome {
    pub rule: String,
    pub status: RuleStatus,
    /// What the rule examines ("accounts", "ELF files").
    pub subject: String,
    /// How many subjects were examined.
    pub examined: usize,
    /// The examined subjects (the first [`SUBJECT_LIST_MAX`]).
    pub subjects: Vec<String>,
    /// How many subjects were present but not examined.
    pub not_examined_count: usize,
    /// Those subjects with their causes (the first [`SUBJECT_LIST_MAX`]).
    pub not_examined: Vec<NotExamined>,
    /// Failing findings of this rule.
    pub failures: usize,
    /// Why the status is what it is, in one sentence.
    pub reason: String,
    /// Set exactly when the status is not checked: which of the causes it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<NotCheckedCause>,
}

#[derive(Debug, Default, Clone)]
struct Record {
    examined: usize,
    subjects: Vec<String>,
    not_examined_count: usize,
    not_examined: Vec<NotExamined>,
    /// The rule could not run at all (e.g. no vulnerability feed).
    not_checked: Option<String>,
    /// What "nothing to examine" means for this rule here.
    not_applicable: Option<String>,
}

/// The rules a ledger decides and the words its reasons use for what was scanned.
#[derive(Debug, Clone, Copy)]
pub struct Catalogue {
    pub rules: &'static [Rule],
    /// What was scanned, in "the {scan} is incomplete": `scan`, `probe`.
    pub scan: &'static str,
    /// Appended to an incomplete scan's reason (", the rest of the image was not examined").
    pub rest: &'static str,
    /// How a subject not examined was met: `present`, `reached`.
    pub met: &'static str,
    /// Where "no {subject}" was looked for: `in the image`, `on the target`.
    pub place: &'static str,
    /// Rules an incomplete scan leaves as they are (the one that reports the incompleteness).
    pub complete_regardless: &'static [&'static str],
}

/// The static scan's catalogue.
pub const STATIC_SCAN: Catalogue = Catalogue { rules: RULES, scan: "scan", rest: ", the rest of the image was not examined", met: "present", place: "in the image", complete_regardless: &["AITE-UNPACK-INCOMPLETE"] };

/// The subjects each rule examined or could not examine during one scan.
#[derive(Debug, Clone)]
pub struct Ledger {
    catalogue: Catalogue,
    records: BTreeMap<&'static str, Record>,
}

impl Default for Ledger {
    /// The static scan's ledger.
    fn default() -> Self {
        Ledger::new(STATIC_SCAN)
    }
}

impl Ledger {
    /// An empty ledger deciding the rules of `catalogue`.
    pub fn new(catalogue: Catalogue) -> Self {
        Ledger { catalogue, records: BTreeMap::new() }
    }

    fn record(&mut self, rule: &str) -> &mut Record {
        let id = self.catalogue.rules.iter().find(|r| r.id == rule).unwrap_or_else(|| panic!("unknown rule {rule}")).id;
        self.records.entry(id).or_default()
    }

    /// Add what `other` (the same catalogue's ledger, e.g. another port's) recorded after what
    /// this one holds: counts add up, subject lists keep their order up to [`SUBJECT_LIST_MAX`],
    /// the first reason stays.
    pub fn merge(&mut self, other: Ledger) {
        for (id, o) in other.records {
            let rec = self.records.entry(id).or_default();
            rec.examined += o.examined;
            rec.subjects.extend(o.subjects);
            rec.subjects.truncate(SUBJECT_LIST_MAX);
            rec.not_examined_count += o.not_examined_count;
            rec.not_examined.extend(o.not_examined);
            rec.not_examined.truncate(SUBJECT_LIST_MAX);
            rec.not_checked = rec.not_checked.take().or(o.not_checked);
            rec.not_applicable = rec.not_applicable.take().or(o.not_applicable);
        }
    }

    /// `subject` was examined by each of `rules`.
    pub fn examined(&mut self, rules: &[&str], subject: &str) {
        for r in rules {
            let rec = self.record(r);
            rec.examined += 1;
            if rec.subjects.len() < SUBJECT_LIST_MAX {
                rec.subjects.push(subject.to_string());
            }
        }
    }

    /// `subject` is present but was not examined by `rules`.
    pub fn not_examined(&mut self, rules: &[&str], subject: &str, cause: impl Into<String>) {
        let cause = cause.into();
        for r in rules {
            let rec = self.record(r);
            rec.not_examined_count += 1;
            if rec.not_examined.len() < SUBJECT_LIST_MAX {
                rec.not_examined.push(NotExamined { subject: subject.to_string(), cause: cause.clone() });
            }
        }
    }

    /// `rule` could not run at all.
    pub fn not_checked(&mut self, rule: &str, why: impl Into<String>) {
        self.record(rule).not_checked = Some(why.into());
    }

    /// What to say when `rule` finds nothing to examine.
    pub fn not_applicable_because(&mut self, rule: &str, why: impl Into<String>) {
        self.record(rule).not_applicable = Some(why.into());
    }

    /// How many subjects `rule` examined so far.
    pub fn count(&self, rule: &str) -> usize {
        self.records.get(rule).map_or(0, |r| r.examined)
    }

    /// Decide every rule of the catalogue. `incomplete` is the reason the scan
    /// did not cover the whole input, if it did not: then no rule passes.
    pub fn outcomes(&self, findings: &[Finding], incomplete: Option<&str>) -> Vec<RuleOutcome> {
        let c = &self.catalogue;
        c.rules
            .iter()
            .map(|r| {
                let rec = self.records.get(r.id).cloned().unwrap_or_default();
                let failures = findings.iter().filter(|f| f.rule == r.id && f.failed()).count();
                let examined = format!("{} {} examined", rec.examined, r.subject);
                use NotCheckedCause as C;
                let (status, not_checked, reason) = if failures > 0 {
                    (RuleStatus::Fail, None, format!("{failures} failing finding(s); {examined}"))
                } else if let Some(why) = &rec.not_checked {
                    (RuleStatus::NotChecked, Some(C::RuleNotRun), why.clone())
                } else if let Some(why) = incomplete.filter(|_| !c.complete_regardless.contains(&r.id)) {
                    (RuleStatus::NotChecked, Some(C::IncompleteScan), format!("the {} is incomplete ({why}): {examined} without a failure{}", c.scan, c.rest))
                } else if rec.not_examined_count > 0 {
                    let first = &rec.not_examined[0];
                    (RuleStatus::NotChecked, Some(C::SubjectsNotExamined), format!("{} {} {} but not examined (first: {}: {}); {examined} without a failure", rec.not_examined_count, r.subject, c.met, first.subject, first.cause))
                } else if rec.examined == 0 {
                    (RuleStatus::NotApplicable, None, rec.not_applicable.clone().unwrap_or_else(|| format!("no {} {}", r.subject, c.place)))
                } else {
                    (RuleStatus::Pass, None, format!("{examined}, none with {}", r.title))
                };
                RuleOutcome {
                    rule: r.id.to_string(),
                    status,
                    subject: r.subject.to_string(),
                    examined: rec.examined,
                    subjects: rec.subjects,
                    not_examined_count: rec.not_examined_count,
                    not_examined: rec.not_examined,
                    failures,
                    reason,
                    not_checked,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(outcomes: &[RuleOutcome], rule: &str) -> RuleStatus {
        outcomes.iter().find(|o| o.rule == rule).unwrap().status
    }

    #[test]
    fn passing_needs_an_examined_subject_on_a_complete_scan() {
        let mut l = Ledger::default();
        l.examined(&["AITE-ELF-NX"], "bin/busybox");
        l.examined(&["AITE-ELF-PIE"], "bin/busybox");
        l.not_examined(&["AITE-ELF-PIE"], "bin/broken", "not a parsable ELF file");
        l.not_checked("AITE-VULN-KNOWN", "no OSV feed given");
        let fails = vec![Finding::fail("AITE-ELF-RPATH", "bin/app", "RPATH set")];
        let o = l.outcomes(&fails, None);
        assert_eq!(status(&o, "AITE-ELF-NX"), RuleStatus::Pass);
        assert_eq!(status(&o, "AITE-ELF-PIE"), RuleStatus::NotChecked);
        assert_eq!(status(&o, "AITE-ELF-RPATH"), RuleStatus::Fail);
        assert_eq!(status(&o, "AITE-VULN-KNOWN"), RuleStatus::NotChecked);
        assert_eq!(status(&o, "AITE-CRED-EMPTY"), RuleStatus::NotApplicable);
        assert_eq!(o.iter().find(|x| x.rule == "AITE-CRED-EMPTY").unwrap().reason, "no accounts in the image");
        let cause = |o: &[RuleOutcome], rule: &str| o.iter().find(|x| x.rule == rule).unwrap().not_checked;
        assert_eq!(cause(&o, "AITE-ELF-PIE"), Some(NotCheckedCause::SubjectsNotExamined));
        assert_eq!(cause(&o, "AITE-VULN-KNOWN"), Some(NotCheckedCause::RuleNotRun));
        assert_eq!((cause(&o, "AITE-ELF-NX"), cause(&o, "AITE-ELF-RPATH"), cause(&o, "AITE-CRED-EMPTY")), (None, None, None));
        // The same ledger on an incomplete scan: nothing passes.
        let o = l.outcomes(&fails, Some("1 container not examined"));
        assert!(o.iter().all(|x| x.status != RuleStatus::Pass), "{o:?}");
        assert_eq!(status(&o, "AITE-ELF-RPATH"), RuleStatus::Fail);
        assert_eq!((cause(&o, "AITE-ELF-NX"), cause(&o, "AITE-ELF-PIE"), cause(&o, "AITE-VULN-KNOWN")), (Some(NotCheckedCause::IncompleteScan), Some(NotCheckedCause::IncompleteScan), Some(NotCheckedCause::RuleNotRun)));
        // Every not-checked rule says which cause, and no other rule carries one.
        assert!(o.iter().all(|x| (x.status == RuleStatus::NotChecked) == x.not_checked.is_some()), "{o:?}");
    }
}
