//! `aite accuracy`: top-1/top-k on a labeled dataset.

use crate::cli::AccuracyArgs;
use crate::common::*;
use crate::exit::Exit;
use aite_accuracy::{evaluate, AccuracyConfig};
use aite_evidence::{Results, RunStatus};
use aite_target::Cancel;
use anyhow::Result;

pub fn run(a: AccuracyArgs, cancel: &Cancel) -> Result<u8> {
    let Some(ds) = open_dataset(&a.data)? else {
        anyhow::bail!(aite_data::DataError::Spec {
            reason: "accuracy needs labeled images".into(),
            hint: "pass --dataset path/to/labels.csv (or an ImageFolder directory)".into(),
        });
    };
    let mut target = load_model(&a.model)?;
    let (spec, inferred) = preprocess_spec(a.data.preprocess.as_deref(), target.info())?;
    if inferred {
        eprintln!("note: no --preprocess given; using {} (recorded in config.json)", serde_json::to_string(&spec)?);
    }
    let config = AccuracyConfig { top_k: a.top_k, strict: a.data.strict, output_index: 0, cancel: cancel.clone() };
    let pb = bar(ds.samples.len() as u64, "accuracy", a.output.json);
    let report = evaluate(target.as_mut(), &ds, &spec, &config, &mut |i| pb.set_position(i as u64))?;
    pb.finish_and_clear();
    let mut results = Results::new("accuracy", serde_json::to_value(target.info())?);
    results.inputs.extend(model_artifacts(&a.model.model, "model")?);
    results.inputs.push(dataset_artifact(&ds));
    results.add_suite("accuracy", &report);
    let status = if report.interrupted { RunStatus::Interrupted } else { RunStatus::Complete };
    results.finish(status);
    let cfg = serde_json::json!({
        "command": "accuracy",
        "model": a.model.model, "engine": format!("{:?}", a.model.engine).to_lowercase(), "threads": a.model.threads,
        "dataset": ds.name, "limit": a.data.limit, "strict": a.data.strict, "top_k": a.top_k,
        "preprocess": spec, "preprocess_inferred": inferred,
    });
    let dir = write_evidence(&a.output, "accuracy", &results, &cfg, vec![("predictions.csv".into(), predictions_csv(&report.predictions))])?;
    if let Some(code) = super::run::judge(&a.assess, &dir, a.output.json)? {
        return Ok(code);
    }
    Ok(if report.interrupted { Exit::Interrupted as u8 } else { Exit::Ok as u8 })
}
