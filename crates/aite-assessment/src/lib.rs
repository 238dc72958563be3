//! Assessment: from measurements to verdicts.
//!
//! A [`Profile`] (versioned TOML, data never code; four are shipped in
//! [`profile::SHIPPED`]) lists requirements: the results.json metric each one
//! reads (from the [`catalogue`]), a comparator and threshold with its
//! provenance, a [`DecisionRule`] and the clauses it evidences. [`check`]
//! validates a profile naming the line of every problem; a lab file can
//! `extends` a shipped profile and override values, each override recorded.
//! [`assess`] applies a profile to a results.json value: one [`Verdict`] per
//! requirement, a gap analysis per mandatory item and an [`OverallVerdict`]
//! with its exit code. Missing or incomplete measurements never pass.
//!
//! ```
//! let profile = aite_assessment::shipped("reference-terminal").unwrap();
//! let results = serde_json::json!({ "schema": "aite.results/v1", "suites": {} });
//! let a = aite_assessment::assess(&profile, &results);
//! assert_eq!(a.overall, aite_assessment::OverallVerdict::NotTested);
//! ```

pub mod assess;
pub mod catalogue;
pub mod profile;
pub mod verdict;
pub mod worst_case;

pub use assess::{assess, assess_scoped, Assessment, ItemSummary, OverallVerdict, RequirementResult};
pub use profile::{check, load, shipped, Comparator, DecisionRule, Item, Override, Profile, ProfileError, Requirement, Threshold, ThresholdStatus};
pub use verdict::{Interval, MoreSamples, Verdict};
