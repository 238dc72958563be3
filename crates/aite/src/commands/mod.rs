//! One module per sub-command.

mod accuracy;
mod demo;
mod history;
mod evidence;
mod inspect;
mod latency;
mod ocr;
mod corrupt;
mod probe;
mod profile;
pub mod run;
mod init;
mod report;
mod robustness;
mod security;
mod signing;

use crate::cli::{Cli, Command};
use aite_target::Cancel;

/// Run the chosen sub-command; returns the exit code on success.
pub fn dispatch(cli: Cli, cancel: &Cancel) -> anyhow::Result<u8> {
    match cli.command {
        Command::Demo(a) => demo::run(a, cancel),
        Command::Run(a) => run::command(a, cancel),
        Command::Init(a) => init::run(a),
        Command::Assess(a) => run::assess_command(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Accuracy(a) => accuracy::run(a, cancel),
        Command::Latency(a) => latency::run(a, cancel),
        Command::Robustness(a) => robustness::run(a, cancel),
        Command::Security(a) => security::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Sign(a) => signing::sign(a),
        Command::VerifyModel(a) => signing::verify(a),
        Command::Keygen(a) => evidence::keygen(a),
        Command::SignEvidence(a) => evidence::sign(a),
        Command::Verify(a) => evidence::verify(a),
        Command::Corrupt(a) => corrupt::run(a),
        Command::Ocr(a) => ocr::run(a, cancel),
        Command::Merge(a) => robustness::merge(a),
        Command::Presets => {
            println!("preprocessing presets (-p, --preprocess):");
            for (name, about, _) in aite_data::PRESETS {
                println!("  {name:18} {about}");
            }
            println!("task presets (--task):");
            for (name, about, _) in aite_task::PRESETS {
                // The task kind is the spec's own `task` tag.
                let spec = aite_task::TaskSpec::preset(name)?;
                let kind = serde_json::to_value(&spec)?.get("task").and_then(|t| t.as_str().map(str::to_string)).unwrap_or_default();
                println!("  {name:18} {kind:10} {about}");
            }
            Ok(0)
        }
        Command::Profile(c) => profile::run(c),
        Command::Report(a) => report::run(a),
        Command::History(a) => history::history(a),
        Command::Diff(a) => history::diff(a),
        Command::ColdStart(m) => latency::cold_start_child(m),
    }
}
