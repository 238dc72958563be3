//! A minimal owned tensor: shape plus a typed row-major buffer.

use crate::{DType, TargetError};

/// Typed storage of a [`Tensor`].
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    U8(Vec<u8>),
    I8(Vec<i8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl TensorData {
    fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::U8(v) => v.len(),
            TensorData::I8(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::I64(v) => v.len(),
        }
    }
}

/// The number of elements of `shape`, `None` when it does not fit in `usize` (a hostile
/// shape such as `[2^62, 4]`). A zero dimension makes it 0 whatever the others; `[]` is 1.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// A dense row-major tensor. The element count always equals the shape product.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// Build a tensor, checking that `data` holds exactly `shape.product()` elements.
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Self, TargetError> {
        let Some(want) = element_count(&shape) else {
            return Err(TargetError::InputMismatch { target: "tensor".into(), reason: format!("shape {shape:?} has more elements than this machine can count") });
        };
        if want != data.len() {
            return Err(TargetError::InputMismatch {
                target: "tensor".into(),
                reason: format!(
                    "shape {shape:?} needs {want} elements but {} were given",
                    data.len()
                ),
            });
        }
        Ok(Tensor { shape, data })
    }

    /// Shorthand for an `f32` tensor.
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, TargetError> {
        Self::new(shape, TensorData::F32(data))
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn data(&self) -> &TensorData {
        &self.data
    }

    pub fn into_parts(self) -> (Vec<usize>, TensorData) {
        (self.shape, self.data)
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype(&self) -> DType {
        match self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::U8(_) => DType::U8,
            TensorData::I8(_) => DType::I8,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
        }
    }

    /// All elements widened to `f32` (scores are compared in float).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            TensorData::F32(v) => v.clone(),
            TensorData::U8(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::I8(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_element_count_mismatch() {
        let err = Tensor::f32(vec![1, 3, 2, 2], vec![0.0; 11]).unwrap_err();
        assert!(err.to_string().contains("needs 12 elements"), "{err}");
    }

    #[test]
    fn overflowing_shapes_are_errors_and_scalars_hold_one() {
        let err = Tensor::f32(vec![1 << 62, 4], vec![]).unwrap_err();
        assert!(err.to_string().contains("more elements than this machine can count"), "{err}");
        assert_eq!(element_count(&[1 << 62, 4, 0]), Some(0));
        assert_eq!(element_count(&[]), Some(1));
        assert!(Tensor::f32(vec![], vec![]).unwrap_err().to_string().contains("needs 1 elements"));
        assert_eq!(Tensor::f32(vec![], vec![2.0]).unwrap().len(), 1);
    }

    #[test]
    fn widens_integer_data() {
        let t = Tensor::new(vec![2], TensorData::I8(vec![-3, 4])).unwrap();
        assert_eq!(t.to_f32_vec(), vec![-3.0, 4.0]);
        assert_eq!(t.dtype(), DType::I8);
    }
}
