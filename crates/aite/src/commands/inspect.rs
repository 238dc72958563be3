//! `aite inspect MODEL`.

use crate::cli::InspectArgs;

pub fn run(a: InspectArgs) -> anyhow::Result<u8> {
    let report = aite_engine::inspect(&a.model)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", aite_report::render_model_report(&report));
    }
    Ok(0)
}
