//! Assess a results.json against a profile and print the verdicts.
//!
//! `cargo run -p aite-assessment --example assess -- reference-terminal aite-runs/<run>/results.json`
//! (PROFILE is a shipped name or a profile file).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [profile, results] = args.as_slice() else {
        return Err("usage: assess PROFILE RESULTS.json".into());
    };
    let profile = match aite_assessment::profile::shipped_text(profile) {
        Some(_) => aite_assessment::shipped(profile)?,
        None => aite_assessment::load(std::path::Path::new(profile))?,
    };
    let text = std::fs::read_to_string(results).map_err(|e| format!("{results}: {e}"))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{results}: {e}"))?;
    let a = aite_assessment::assess(&profile, &value);
    for s in &a.gap_analysis {
        println!("{:?}: pass {} fail {} inconclusive {} not-applicable {} not-tested {} error {}", s.item.unwrap(), s.pass, s.fail, s.inconclusive, s.not_applicable, s.not_tested, s.error);
    }
    for r in &a.requirements {
        println!("{:<32} {:<15} {}", r.id, r.verdict.label(), r.note);
    }
    println!("overall {:?} (exit {})", a.overall, a.overall.exit_code());
    Ok(())
}
