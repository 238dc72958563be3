//! `aite profile show|check`: the assessment profiles, which are data.

use crate::cli::ProfileCommand;
use crate::exit::Exit;
use aite_assessment::{Profile, ProfileError, Requirement, ThresholdStatus};
use anyhow::Result;
use std::path::Path;

/// A shipped profile by name, else a profile file.
fn open(name: &str) -> Result<Profile, ProfileError> {
    match aite_assessment::profile::shipped_text(name) {
        Some(_) => aite_assessment::shipped(name),
        None if Path::new(name).exists() => aite_assessment::load(Path::new(name)),
        None => Err(ProfileError::Unknown { name: name.to_string() }),
    }
}

/// "p99 of suites.latency.latency <= 33.3 ms", or why the requirement has no threshold.
fn rule(r: &Requirement) -> String {
    if let Some(why) = &r.reserved {
        return format!("reserved: {why}");
    }
    let what = if r.statistic.is_empty() { r.metric.clone() } else { format!("{} of {}", r.statistic, r.metric) };
    match (r.comparator, &r.threshold) {
        (Some(c), Some(t)) => format!("{what} {} {t} {}", c.symbol(), r.unit).trim_end().to_string(),
        _ => format!("{what} (verdict as recorded)"),
    }
}

fn status(s: ThresholdStatus) -> &'static str {
    match s {
        ThresholdStatus::Provisional => "provisional",
        ThresholdStatus::Published => "published",
        ThresholdStatus::Lab => "lab",
    }
}

pub fn run(c: ProfileCommand) -> Result<u8> {
    match c {
        ProfileCommand::Show { profile } => {
            let p = open(&profile)?;
            println!("{} {} — {} ({})", p.id, p.version, p.title, p.source);
            if p.provisional() {
                println!("PROVISIONAL: thresholds marked provisional are aite's defaults, not the guideline's numbers (not published yet); override them in a lab profile (`extends`)");
            }
            for item in aite_assessment::Item::ALL {
                let reqs: Vec<&Requirement> = p.requirements.iter().filter(|r| r.item == item).collect();
                println!("\n{item:?} ({} requirements)", reqs.len());
                for r in reqs {
                    println!("  {:<34} {:<8} {:<12} {}", r.id, format!("{:?}", r.decision).to_lowercase(), status(r.provenance.status), rule(r));
                }
            }
            for o in &p.overrides {
                println!("override {} {}: {} -> {} ({}:{})", o.requirement, o.field, o.old, o.new, o.file, o.line);
            }
            Ok(Exit::Ok as u8)
        }
        ProfileCommand::Check { file } => {
            let p = aite_assessment::load(&file)?;
            println!("{}: valid profile {} {} ({} requirements, {} overrides)", file.display(), p.id, p.version, p.requirements.len(), p.overrides.len());
            Ok(Exit::Ok as u8)
        }
    }
}
