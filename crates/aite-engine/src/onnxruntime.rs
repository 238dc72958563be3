//! ONNX Runtime through the `ort` crate, loaded at run time (`load-dynamic`).
//!
//! The library is found from `ORT_DYLIB_PATH`, or else from the `onnxruntime`
//! wheel of the first `python3` on PATH (`site-packages/onnxruntime/capi/`).
//! No `api-N` feature is pinned, so any wheel from 1.19 on loads; a library
//! that is too old is reported as an error, not a panic.

use crate::EngineOptions;
use aite_target::{DType, Dim, Target, TargetError, TargetInfo, Tensor, TensorData, TensorSpec};
use ort::session::Session;
use ort::value::{TensorElementType, ValueType};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

struct Runtime {
    env: ort::environment::Environment,
    version: String,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

const HINT: &str = "install the PyPI wheel (`pip install onnxruntime`, 1.19 or newer) or set \
ORT_DYLIB_PATH to a libonnxruntime shared library";

/// Find the ONNX Runtime shared library: `ORT_DYLIB_PATH`, then the Python wheel.
pub fn locate_onnxruntime() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        return if p.is_file() { Ok(p) } else { Err(format!("ORT_DYLIB_PATH={} is not a file", p.display())) };
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import onnxruntime, os; print(os.path.dirname(onnxruntime.__file__))"])
        .output()
        .map_err(|e| format!("ORT_DYLIB_PATH is not set and python3 could not be run to find the onnxruntime wheel ({e})"))?;
    if !out.status.success() {
        return Err("ORT_DYLIB_PATH is not set and python3 has no `onnxruntime` package".into());
    }
    let capi = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("capi");
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&capi)
        .map_err(|e| format!("cannot list {}: {e}", capi.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (n.starts_with("libonnxruntime.so") || n.starts_with("libonnxruntime.") && n.ends_with(".dylib") || n == "onnxruntime.dll")
                && !n.contains("providers")
        })
        .collect();
    candidates.sort();
    candidates.pop().ok_or_else(|| format!("no libonnxruntime shared library in {}", capi.display()))
}

fn runtime() -> Result<&'static Runtime, TargetError> {
    let r = RUNTIME.get_or_init(|| {
        let path = locate_onnxruntime()?;
        let built = std::panic::catch_unwind(|| -> Result<ort::environment::Environment, String> {
            let builder = ort::init_from(&path).map_err(|e| format!("cannot load {}: {e}", path.display()))?;
            builder.with_name("aite").build().map_err(|e| e.to_string())
        })
        .map_err(|_| format!("loading {} panicked inside ort (incompatible library?)", path.display()))??;
        // The build-info string names the commit; the library file name carries the version.
        let real = std::fs::canonicalize(&path).unwrap_or(path.clone());
        let file = real.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let from_name = file.split(".so.").nth(1).or_else(|| file.strip_prefix("libonnxruntime.").and_then(|s| s.strip_suffix(".dylib")));
        let commit = ort::info().split("git-commit-id=").nth(1).and_then(|s| s.split([',', ' ']).next()).map(str::to_string);
        let version = match (from_name, commit) {
            (Some(v), Some(c)) => format!("{v} ({c})"),
            (Some(v), None) => v.to_string(),
            (None, Some(c)) => format!("commit {c}"),
            (None, None) => "unknown".to_string(),
        };
        Ok(Runtime { env: built, version })
    });
    r.as_ref().map_err(|reason| TargetError::EngineUnavailable { engine: "ort".into(), reason: reason.clone(), hint: HINT.into() })
}

/// A model session on ONNX Runtime (CPU execution provider).
pub struct OrtTarget {
    info: TargetInfo,
    session: Session,
}

fn load_err(path: &Path, e: impl std::fmt::Display) -> TargetError {
    TargetError::Load {
        path: path.to_path_buf(),
        reason: format!("onnxruntime cannot load this model: {e}"),
        hint: "check the file with `aite inspect`; custom operators need the vendor's runtime".into(),
    }
}

impl OrtTarget {
    pub fn load(path: &Path, options: &EngineOptions) -> Result<Self, TargetError> {
        crate::ModelFormat::detect(path)?;
        let session = Self::builder(path, options)?.commit_from_file(path).map_err(|e| load_err(path, e))?;
        Self::finish(path, session, options)
    }

    pub fn from_bytes(name: &str, bytes: &[u8], options: &EngineOptions) -> Result<Self, TargetError> {
        let path = Path::new(name);
        let session = Self::builder(path, options)?.commit_from_memory(bytes).map_err(|e| load_err(path, e))?;
        Self::finish(path, session, options)
    }

    fn builder(path: &Path, options: &EngineOptions) -> Result<ort::session::builder::SessionBuilder, TargetError> {
        let rt = runtime()?;
        Session::builder(&rt.env)
            .and_then(|b| b.with_intra_threads(options.threads.max(1)).map_err(Into::into))
            .and_then(|b| b.with_inter_threads(1).map_err(Into::into))
            .map_err(|e| load_err(path, e))
    }

    fn finish(path: &Path, session: Session, options: &EngineOptions) -> Result<Self, TargetError> {
        let rt = runtime()?;
        let spec = |name: &str, t: &ValueType| -> TensorSpec {
            match t {
                ValueType::Tensor { ty, shape, dimension_symbols } => TensorSpec {
                    name: name.to_string(),
                    dtype: dtype_of(*ty),
                    shape: shape
                        .iter()
                        .enumerate()
                        .map(|(i, &d)| {
                            if d >= 0 {
                                Dim::Fixed(d as usize)
                            } else {
                                let s = dimension_symbols.get(i).cloned().unwrap_or_default();
                                Dim::Symbolic(if s.is_empty() { format!("d{i}") } else { s })
                            }
                        })
                        .collect(),
                },
                _ => TensorSpec { name: name.to_string(), dtype: DType::Other, shape: vec![] },
            }
        };
        let inputs = session.inputs().iter().map(|o| spec(o.name(), o.dtype())).collect();
        let outputs = session.outputs().iter().map(|o| spec(o.name(), o.dtype())).collect();
        Ok(OrtTarget {
            info: TargetInfo {
                name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                engine: "onnxruntime".into(),
                engine_version: rt.version.clone(),
                threads: options.threads.max(1),
                inputs,
                outputs,
            },
            session,
        })
    }
}

fn dtype_of(t: TensorElementType) -> DType {
    match t {
        TensorElementType::Float32 => DType::F32,
        TensorElementType::Uint8 => DType::U8,
        TensorElementType::Int8 => DType::I8,
        TensorElementType::Int32 => DType::I32,
        TensorElementType::Int64 => DType::I64,
        _ => DType::Other,
    }
}

impl Target for OrtTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }

    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        let name = self.info.name.clone();
        let fail = |e: ort::Error| TargetError::Inference { target: name.clone(), reason: e.to_string() };
        if inputs.len() != self.info.inputs.len() {
            return Err(TargetError::InputMismatch {
                target: name.clone(),
                reason: format!("the model takes {} input(s) but {} were given", self.info.inputs.len(), inputs.len()),
            });
        }
        let mut feed: Vec<(String, ort::session::SessionInputValue<'_>)> = Vec::with_capacity(inputs.len());
        for (t, spec) in inputs.iter().zip(&self.info.inputs) {
            let fits = spec.shape.len() == t.shape().len()
                && spec.shape.iter().zip(t.shape()).all(|(d, &n)| !matches!(d, Dim::Fixed(f) if *f != n))
                && (spec.dtype == DType::Other || spec.dtype == t.dtype());
            if !fits {
                return Err(TargetError::InputMismatch {
                    target: name.clone(),
                    reason: format!("input `{}` expects {} {} but got {} {:?}", spec.name, spec.dtype, spec.shape_string(), t.dtype(), t.shape()),
                });
            }
            let shape = t.shape().to_vec();
            let value: ort::value::DynValue = match t.data() {
                TensorData::F32(v) => ort::value::Tensor::from_array((shape, v.clone())).map_err(fail)?.into_dyn(),
                TensorData::U8(v) => ort::value::Tensor::from_array((shape, v.clone())).map_err(fail)?.into_dyn(),
                TensorData::I8(v) => ort::value::Tensor::from_array((shape, v.clone())).map_err(fail)?.into_dyn(),
                TensorData::I32(v) => ort::value::Tensor::from_array((shape, v.clone())).map_err(fail)?.into_dyn(),
                TensorData::I64(v) => ort::value::Tensor::from_array((shape, v.clone())).map_err(fail)?.into_dyn(),
            };
            feed.push((spec.name.clone(), value.into()));
        }
        let outputs = self.session.run(feed).map_err(fail)?;
        let mut result = Vec::with_capacity(outputs.len());
        for (_, value) in outputs.iter() {
            let ty = match value.dtype() {
                ValueType::Tensor { ty, .. } => *ty,
                other => {
                    return Err(TargetError::Inference { target: name.clone(), reason: format!("non-tensor output {other:?}") });
                }
            };
            macro_rules! take {
                ($t:ty, $variant:ident) => {{
                    let (shape, data) = value.try_extract_tensor::<$t>().map_err(fail)?;
                    let shape: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
                    Tensor::new(shape, TensorData::$variant(data.to_vec()))?
                }};
            }
            result.push(match ty {
                TensorElementType::Float32 => take!(f32, F32),
                TensorElementType::Uint8 => take!(u8, U8),
                TensorElementType::Int8 => take!(i8, I8),
                TensorElementType::Int32 => take!(i32, I32),
                TensorElementType::Int64 => take!(i64, I64),
                other => {
                    return Err(TargetError::Inference { target: name.clone(), reason: format!("output type {other:?} is not supported by aite") });
                }
            });
        }
        Ok(result)
    }
}
