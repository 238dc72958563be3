//! Reading classification scores out of an output tensor.

use crate::{Tensor, TargetError};

/// The `k` best classes of a `[1, K]` / `[K]` score tensor, best first.
///
/// Ties go to the lower index (onnxruntime's argmax convention), which matters
/// for quantized models whose scores often tie. NaN scores rank last.
pub fn top_k(scores: &Tensor, k: usize) -> Result<Vec<(usize, f32)>, TargetError> {
    let non_unit: Vec<usize> = scores.shape().iter().copied().filter(|&d| d != 1).collect();
    if non_unit.len() > 1 {
        return Err(TargetError::Inference {
            target: "classifier output".into(),
            reason: format!(
                "expected one row of class scores ([1, K]) but the output has shape {:?}",
                scores.shape()
            ),
        });
    }
    let values = scores.to_f32_vec();
    let mut idx: Vec<usize> = (0..values.len()).collect();
    let key = |i: usize| if values[i].is_nan() { f32::NEG_INFINITY } else { values[i] };
    // Stable sort keeps lower indices first among equal scores.
    idx.sort_by(|&a, &b| key(b).total_cmp(&key(a)));
    Ok(idx.into_iter().take(k).map(|i| (i, values[i])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_lower_index() {
        let t = Tensor::f32(vec![1, 4], vec![0.1, 0.7, 0.7, 0.2]).unwrap();
        assert_eq!(top_k(&t, 2).unwrap(), vec![(1, 0.7), (2, 0.7)]);
    }

    #[test]
    fn nan_ranks_last_and_2d_rejected() {
        let t = Tensor::f32(vec![3], vec![f32::NAN, 0.0, -1.0]).unwrap();
        assert_eq!(top_k(&t, 1).unwrap()[0].0, 1);
        let t = Tensor::f32(vec![2, 2], vec![0.0; 4]).unwrap();
        assert!(top_k(&t, 1).is_err());
    }
}
