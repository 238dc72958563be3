//! `aite robustness`: failure-mode consistency checks on real frames.

use crate::cli::{ModelArgs, RobustnessArgs};
use crate::common::*;
use crate::exit::Exit;
use aite_data::{Dataset, PreprocessSpec};
use aite_evidence::{Results, RunStatus};
use aite_robustness::{agreement, batch_invariance, degenerate_frames, metamorphic_flips, repeatability, MetamorphicRelation};
use aite_target::{Dim, Target};
use anyhow::Result;

/// Decoded images of up to `n` samples (see [`load_frames`]).
pub fn decoded_frames(ds: &Dataset, spec: &PreprocessSpec, n: usize, strict: bool) -> Result<Vec<(String, aite_data::Image)>> {
    Ok(load_frames(ds, spec, n, strict)?.0.into_iter().map(|f| (f.id, f.image)).collect())
}

/// Run every consistency check that applies and add it to `results`.
/// Returns whether every check passed.
pub fn consistency_suites(
    results: &mut Results,
    deployed: &mut dyn Target,
    reference: Option<&mut dyn Target>,
    batched: Option<(&mut dyn Target, usize)>,
    spec: &PreprocessSpec,
    frames: &[(String, aite_data::Image)],
    repeats: usize,
    seed: u64,
) -> Result<bool> {
    let mut ok = true;
    let rep = repeatability(deployed, spec, frames, repeats)?;
    ok &= rep.top1_flips == 0;
    results.add_suite("repeatability", &rep);
    if let Some((batched, n)) = batched {
        let b = batch_invariance(deployed, batched, n, spec, frames, 1e-4)?;
        ok &= b.top1_flips == 0;
        results.add_suite("batch_invariance", &b);
    }
    if let Some(reference) = reference {
        results.add_suite("agreement", &agreement(reference, deployed, spec, frames)?);
    }
    let degenerate = degenerate_frames(deployed, spec, &frames[0].1, seed)?;
    ok &= degenerate.iter().all(|d| d.graceful);
    results.add_suite("degenerate_frames", &degenerate);
    results.add_suite("metamorphic", &metamorphic_flips(deployed, spec, frames, &MetamorphicRelation::defaults())?);
    Ok(ok)
}

fn has_symbolic_batch(t: &dyn Target) -> bool {
    t.info().inputs.first().and_then(|i| i.shape.first()).is_some_and(|d| matches!(d, Dim::Symbolic(_)))
}

pub fn run(a: RobustnessArgs) -> Result<u8> {
    let Some(ds) = open_dataset(&a.data)? else {
        anyhow::bail!(aite_data::DataError::Spec { reason: "robustness checks run on real frames".into(), hint: "pass --dataset".into() });
    };
    let mut deployed = load_model(&a.model)?;
    let (spec, inferred) = preprocess_spec(a.data.preprocess.as_deref(), deployed.info())?;
    if inferred {
        eprintln!("note: no --preprocess given; using {} (recorded in config.json)", serde_json::to_string(&spec)?);
    }
    let frames = decoded_frames(&ds, &spec, a.samples, a.data.strict)?;
    let mut reference = match (&a.reference, a.reference_engine) {
        (None, None) => None,
        (path, engine) => Some(load_model(&ModelArgs {
            model: path.clone().unwrap_or_else(|| a.model.model.clone()),
            engine: engine.unwrap_or(a.model.engine),
            ..a.model.clone()
        })?),
    };
    let mut batched = if has_symbolic_batch(deployed.as_ref()) && a.check_batch >= 2 {
        Some(load_model(&ModelArgs { batch: a.check_batch, ..a.model.clone() })?)
    } else {
        None
    };
    let mut results = Results::new("robustness", serde_json::to_value(deployed.info())?);
    results.inputs.push(model_artifact(&a.model.model)?);
    if let Some(r) = &a.reference {
        let mut art = model_artifact(r)?;
        art.role = "reference-model".into();
        results.inputs.push(art);
    }
    results.inputs.push(dataset_artifact(&ds));
    let ok = consistency_suites(
        &mut results,
        deployed.as_mut(),
        reference.as_mut().map(|r| r.as_mut() as &mut dyn Target),
        batched.as_mut().map(|b| (b.as_mut() as &mut dyn Target, a.check_batch)),
        &spec,
        &frames,
        a.repeats,
        a.seed,
    )?;
    results.finish(RunStatus::Complete);
    let cfg = serde_json::json!({
        "command": "robustness", "model": a.model.model, "engine": format!("{:?}", a.model.engine).to_lowercase(),
        "reference": a.reference, "reference_engine": a.reference_engine.map(|e| format!("{e:?}").to_lowercase()),
        "dataset": ds.name, "samples": frames.len(), "repeats": a.repeats, "check_batch": a.check_batch, "seed": a.seed,
        "preprocess": spec, "preprocess_inferred": inferred,
    });
    write_evidence(&a.output, "robustness", &results, &cfg, vec![])?;
    Ok(if ok { Exit::Ok as u8 } else { Exit::Invalid as u8 })
}
