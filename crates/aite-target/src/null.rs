//! A target that does no work: the baseline for harness-overhead measurements.

use crate::{DType, Dim, Target, TargetError, TargetInfo, Tensor, TensorSpec};

/// Returns a zero tensor of a fixed shape without looking at its input.
///
/// Used by the latency benchmark to measure what the harness itself costs per
/// query, and by tests that need a target with no engine.
pub struct NullTarget {
    info: TargetInfo,
    output: Tensor,
}

impl NullTarget {
    pub fn new(output_shape: Vec<usize>) -> Self {
        let n = output_shape.iter().product();
        let spec = |name: &str| TensorSpec {
            name: name.into(),
            dtype: DType::F32,
            shape: output_shape.iter().map(|&d| Dim::Fixed(d)).collect(),
        };
        NullTarget {
            info: TargetInfo {
                name: "null".into(),
                engine: "null".into(),
                engine_version: env!("CARGO_PKG_VERSION").into(),
                threads: 1,
                inputs: vec![],
                outputs: vec![spec("output")],
            },
            output: Tensor::f32(output_shape, vec![0.0; n]).expect("shape product matches"),
        }
    }
}

impl Target for NullTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }
    fn infer(&mut self, _inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        Ok(vec![self.output.clone()])
    }
}
