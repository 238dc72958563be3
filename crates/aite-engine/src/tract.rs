//! The tract engine: pure Rust, the default target for local model files.

use crate::format::{load_error, ModelFormat};
use crate::inspect::onnx_specs;
use crate::EngineOptions;
use aite_target::{DType, Dim, Target, TargetError, TargetInfo, Tensor, TensorData, TensorSpec};
use std::path::Path;
use tract_onnx::prelude::tract_linalg::multithread::Executor;
use tract_onnx::prelude::*;
use tract_onnx::prelude::tract_data::internal::DimLike;

/// A model loaded, optimised and planned by tract, with one reusable run state.
pub struct TractTarget {
    info: TargetInfo,
    /// Concrete shapes the plan was built for, one per input.
    input_shapes: Vec<Vec<usize>>,
    state: TypedSimpleState,
}

/// Version of the tract crates this binary links.
pub const TRACT_VERSION: &str = "0.23";

impl TractTarget {
    /// Load an ONNX or TFLite file.
    pub fn load(path: &Path, options: &EngineOptions) -> Result<Self, TargetError> {
        crate::guard::contain(|| Self::load_unguarded(path, options))
            .map_err(|panic| load_error(path, &format!("the tract front-end crashed on this file ({panic})")))?
    }

    fn load_unguarded(path: &Path, options: &EngineOptions) -> Result<Self, TargetError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        match ModelFormat::detect(path)? {
            ModelFormat::Onnx => {
                let onnx = tract_onnx::onnx().with_ignore_value_info(true).with_ignore_output_shapes(true);
                let proto = onnx
                    .proto_model_for_path(path)
                    .map_err(|e| load_error(path, &format!("not a readable ONNX model ({e:#})")))?;
                let (inputs, outputs) = onnx_specs(&proto);
                let model = onnx
                    .model_for_path(path)
                    .map_err(|e| unsupported(path, &e))?;
                Self::from_inference_model(name, model, inputs, outputs, options, path)
            }
            ModelFormat::Tflite => {
                let model = tract_tflite::tflite()
                    .model_for_path(path)
                    .map_err(|e| unsupported(path, &e))?;
                let inputs = typed_specs(&model, &model.input_outlets().map_err(|e| unsupported(path, &e))?.to_vec());
                let outputs = typed_specs(&model, &model.output_outlets().map_err(|e| unsupported(path, &e))?.to_vec());
                Self::from_typed_model(name, model, inputs, outputs, options, path)
            }
        }
    }

    /// Load an ONNX model held in memory.
    pub fn from_onnx_bytes(
        name: &str,
        bytes: &[u8],
        options: &EngineOptions,
    ) -> Result<Self, TargetError> {
        crate::guard::contain(|| Self::from_onnx_bytes_unguarded(name, bytes, options))
            .map_err(|panic| load_error(Path::new(name), &format!("the tract front-end crashed on this model ({panic})")))?
    }

    fn from_onnx_bytes_unguarded(name: &str, bytes: &[u8], options: &EngineOptions) -> Result<Self, TargetError> {
        let path = Path::new(name);
        let onnx = tract_onnx::onnx().with_ignore_value_info(true).with_ignore_output_shapes(true);
        let proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| load_error(path, &format!("not a readable ONNX model ({e:#})")))?;
        let (inputs, outputs) = onnx_specs(&proto);
        let model = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| unsupported(path, &e))?;
        Self::from_inference_model(name.to_string(), model, inputs, outputs, options, path)
    }

    fn from_inference_model(
        name: String,
        mut model: InferenceModel,
        inputs: Vec<TensorSpec>,
        outputs: Vec<TensorSpec>,
        options: &EngineOptions,
        path: &Path,
    ) -> Result<Self, TargetError> {
        let shapes = concrete_input_shapes(&inputs, options);
        for (ix, (spec, shape)) in inputs.iter().zip(&shapes).enumerate() {
            let dt = datum_type(spec.dtype).ok_or_else(|| {
                load_error(path, &format!("input `{}` has a type aite cannot feed", spec.name))
            })?;
            model
                .set_input_fact(ix, InferenceFact::dt_shape(dt, shape.clone()))
                .map_err(|e| unsupported(path, &e))?;
        }
        let typed = model.into_typed().map_err(|e| unsupported(path, &e))?;
        Self::finish(name, typed, inputs, outputs, shapes, options, path)
    }

    fn from_typed_model(
        name: String,
        mut model: TypedModel,
        inputs: Vec<TensorSpec>,
        outputs: Vec<TensorSpec>,
        options: &EngineOptions,
        path: &Path,
    ) -> Result<Self, TargetError> {
        let shapes = concrete_input_shapes(&inputs, options);
        for (ix, shape) in shapes.iter().enumerate() {
            let dt = model
                .input_fact(ix)
                .map_err(|e| unsupported(path, &e))?
                .datum_type;
            model
                .set_input_fact(ix, TypedFact::dt_shape(dt, shape.as_slice()))
                .map_err(|e| unsupported(path, &e))?;
        }
        Self::finish(name, model, inputs, outputs, shapes, options, path)
    }

    fn finish(
        name: String,
        typed: TypedModel,
        inputs: Vec<TensorSpec>,
        outputs: Vec<TensorSpec>,
        input_shapes: Vec<Vec<usize>>,
        options: &EngineOptions,
        path: &Path,
    ) -> Result<Self, TargetError> {
        let optimized = typed.into_optimized().map_err(|e| unsupported(path, &e))?;
        let threads = options.threads.max(1);
        let run_options = RunOptions {
            executor: Some(if threads > 1 {
                Executor::multithread(threads)
            } else {
                Executor::SingleThread
            }),
            ..RunOptions::default()
        };
        let plan = optimized
            .into_runnable_with_options(&run_options)
            .map_err(|e| unsupported(path, &e))?;
        let state = plan.spawn().map_err(|e| unsupported(path, &e))?;
        Ok(TractTarget {
            info: TargetInfo {
                name,
                engine: "tract".into(),
                engine_version: TRACT_VERSION.into(),
                threads,
                inputs,
                outputs,
            },
            input_shapes,
            state,
        })
    }
}

fn unsupported(path: &Path, err: &TractError) -> TargetError {
    TargetError::Load {
        path: path.to_path_buf(),
        reason: format!("tract cannot prepare this model: {err:#}"),
        hint: "the model may use an operator or data type tract does not implement; \
               try `--engine ort`, or check the file with `aite inspect`"
            .into(),
    }
}

fn concrete_input_shapes(inputs: &[TensorSpec], options: &EngineOptions) -> Vec<Vec<usize>> {
    inputs
        .iter()
        .enumerate()
        .map(|(ix, spec)| match (&options.input_shape, ix) {
            (Some(shape), 0) => shape.clone(),
            _ => spec
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => *n,
                    Dim::Symbolic(_) => options.batch.max(1),
                })
                .collect(),
        })
        .collect()
}

fn datum_type(dtype: DType) -> Option<DatumType> {
    Some(match dtype {
        DType::F32 => f32::datum_type(),
        DType::U8 => u8::datum_type(),
        DType::I8 => i8::datum_type(),
        DType::I32 => i32::datum_type(),
        DType::I64 => i64::datum_type(),
        DType::Other => return None,
    })
}

pub(crate) fn dtype_of(dt: DatumType) -> DType {
    match dt.unquantized() {
        DatumType::F32 => DType::F32,
        DatumType::U8 => DType::U8,
        DatumType::I8 => DType::I8,
        DatumType::I32 => DType::I32,
        DatumType::I64 => DType::I64,
        _ => DType::Other,
    }
}

/// Name, dtype and shape of the given outlets of a typed model.
pub(crate) fn typed_specs(model: &TypedModel, outlets: &[OutletId]) -> Vec<TensorSpec> {
    outlets
        .iter()
        .map(|o| {
            let fact = model.outlet_fact(*o).ok();
            TensorSpec {
                name: model.node(o.node).name.clone(),
                dtype: fact.map(|f| dtype_of(f.datum_type)).unwrap_or(DType::Other),
                shape: fact
                    .map(|f| {
                        f.shape
                            .iter()
                            .map(|d| match d.to_usize() {
                                Ok(n) => Dim::Fixed(n),
                                Err(_) => Dim::Symbolic(d.to_string()),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn to_tract(t: &Tensor) -> TractResult<TValue> {
    let shape = t.shape();
    let tensor = match t.data() {
        TensorData::F32(v) => tract_onnx::prelude::Tensor::from_shape(shape, v)?,
        TensorData::U8(v) => tract_onnx::prelude::Tensor::from_shape(shape, v)?,
        TensorData::I8(v) => tract_onnx::prelude::Tensor::from_shape(shape, v)?,
        TensorData::I32(v) => tract_onnx::prelude::Tensor::from_shape(shape, v)?,
        TensorData::I64(v) => tract_onnx::prelude::Tensor::from_shape(shape, v)?,
    };
    Ok(tensor.into_tvalue())
}

fn plain<D: Datum + Copy>(t: &tract_onnx::prelude::Tensor) -> TractResult<Vec<D>> {
    Ok(t.try_as_plain_ram()?.as_slice::<D>()?.to_vec())
}

fn from_tract(v: &TValue) -> TractResult<Tensor> {
    let shape = v.shape().to_vec();
    let data = match v.datum_type().unquantized() {
        DatumType::F32 => TensorData::F32(plain::<f32>(v)?),
        DatumType::U8 => TensorData::U8(plain::<u8>(&*v.cast_to::<u8>()?)?),
        DatumType::I8 => TensorData::I8(plain::<i8>(&*v.cast_to::<i8>()?)?),
        DatumType::I32 => TensorData::I32(plain::<i32>(v)?),
        DatumType::I64 => TensorData::I64(plain::<i64>(v)?),
        _ => TensorData::F32(plain::<f32>(&*v.cast_to::<f32>()?)?),
    };
    Tensor::new(shape, data).map_err(|e| TractError::msg(e.to_string()))
}

impl Target for TractTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }

    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        if inputs.len() != self.input_shapes.len() {
            return Err(TargetError::InputMismatch {
                target: self.info.name.clone(),
                reason: format!(
                    "the model takes {} input(s) but {} were given",
                    self.input_shapes.len(),
                    inputs.len()
                ),
            });
        }
        for ((t, want), spec) in inputs.iter().zip(&self.input_shapes).zip(&self.info.inputs) {
            if t.shape() != want.as_slice() || (spec.dtype != DType::Other && t.dtype() != spec.dtype) {
                return Err(TargetError::InputMismatch {
                    target: self.info.name.clone(),
                    reason: format!(
                        "input `{}` expects {} {:?} but got {} {:?}",
                        spec.name,
                        spec.dtype,
                        want,
                        t.dtype(),
                        t.shape()
                    ),
                });
            }
        }
        let fail = |e: TractError| TargetError::Inference {
            target: self.info.name.clone(),
            reason: format!("{e:#}"),
        };
        let values: TVec<TValue> = inputs.iter().map(to_tract).collect::<TractResult<_>>().map_err(fail)?;
        // tract's kernels can panic on unusual inputs (e.g. integer overflow in
        // quantized ops under debug assertions): contain it, as a device crash
        // would be reported, instead of ending the whole run.
        let state = &mut self.state;
        let outputs = crate::guard::catch(move || state.run(values))
            .map_err(|msg| TargetError::Crashed { target: self.info.name.clone(), reason: format!("panic: {msg}") })?
            .map_err(|e| TargetError::Inference {
                target: self.info.name.clone(),
                reason: format!("{e:#}"),
            })?;
        outputs
            .iter()
            .map(from_tract)
            .collect::<TractResult<Vec<_>>>()
            .map_err(|e| TargetError::Inference {
                target: self.info.name.clone(),
                reason: format!("{e:#}"),
            })
    }
}

