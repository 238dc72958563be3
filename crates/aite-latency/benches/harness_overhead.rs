//! Harness overhead per query: the latency loop against a target that does no work.
//!
//! `cargo bench -p aite-latency --bench harness_overhead` prints ns per query for
//! single-stream; LoadGen's published figure for the same measurement is 2.4 us.

use aite_latency::{run, LatencyScenario, LatencySettings, Workload};
use aite_target::{Cancel, NullTarget, Tensor};
use std::time::Instant;

fn main() {
    let work = Workload::Tensors(vec![vec![Tensor::f32(vec![1, 4], vec![0.0; 4]).unwrap()]; 16]);
    let mut bare = NullTarget::new(vec![1, 10]);
    let n = 1_000_000u64;
    // The null target's own cost, called directly.
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(aite_target::Target::infer(&mut bare, &[]).unwrap());
    }
    let direct = t.elapsed().as_nanos() as f64 / n as f64;
    let settings = LatencySettings { min_duration_ms: 0, min_queries: n, warmup_queries: 0, ..Default::default() };
    let t = Instant::now();
    let report = run(&mut bare, &work, &LatencyScenario::SingleStream, &settings, &Cancel::new(), &mut |_| {}).unwrap();
    let looped = t.elapsed().as_nanos() as f64 / n as f64;
    println!("null target called directly: {direct:.0} ns/query");
    println!("through the latency harness: {looped:.0} ns/query (recorded {} queries)", report.queries);
    println!("harness overhead: {:.0} ns/query ({:.3} us; LoadGen published 2.4 us; ratio {:.2})", looped - direct, (looped - direct) / 1e3, (looped - direct) / 2400.0);
}
