//! Tensors on the wire: OIP datatypes, JSON `data` arrays, and the binary tensor data
//! extension (little-endian, row-major, no padding, BOOL as one byte).

use aite_target::{element_count, DType, Tensor, TensorData};
use serde_json::Value;

/// An OIP tensor datatype as the server names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    Bool,
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F16,
    F32,
    F64,
    Bytes,
}

impl WireType {
    pub fn parse(name: &str) -> Option<WireType> {
        Some(match name {
            "BOOL" => WireType::Bool,
            "UINT8" => WireType::U8,
            "UINT16" => WireType::U16,
            "UINT32" => WireType::U32,
            "UINT64" => WireType::U64,
            "INT8" => WireType::I8,
            "INT16" => WireType::I16,
            "INT32" => WireType::I32,
            "INT64" => WireType::I64,
            "FP16" => WireType::F16,
            "FP32" => WireType::F32,
            "FP64" => WireType::F64,
            "BYTES" => WireType::Bytes,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            WireType::Bool => "BOOL",
            WireType::U8 => "UINT8",
            WireType::U16 => "UINT16",
            WireType::U32 => "UINT32",
            WireType::U64 => "UINT64",
            WireType::I8 => "INT8",
            WireType::I16 => "INT16",
            WireType::I32 => "INT32",
            WireType::I64 => "INT64",
            WireType::F16 => "FP16",
            WireType::F32 => "FP32",
            WireType::F64 => "FP64",
            WireType::Bytes => "BYTES",
        }
    }

    /// The tensor type a suite hands over for an input of this datatype (FP16 travels
    /// as f32 in aite and is rounded on the wire; BOOL as u8 0/1). `Other`: not sendable.
    pub fn input_dtype(self) -> DType {
        match self {
            WireType::F32 | WireType::F16 => DType::F32,
            WireType::U8 | WireType::Bool => DType::U8,
            WireType::I8 => DType::I8,
            WireType::I32 => DType::I32,
            WireType::I64 => DType::I64,
            _ => DType::Other,
        }
    }

    /// The tensor type aite returns for an output of this datatype (see [`from_binary`]).
    pub fn output_dtype(self) -> DType {
        match self {
            WireType::F32 | WireType::F16 | WireType::F64 => DType::F32,
            WireType::U8 | WireType::Bool => DType::U8,
            WireType::I8 => DType::I8,
            WireType::I16 | WireType::U16 | WireType::I32 => DType::I32,
            WireType::U32 | WireType::I64 | WireType::U64 => DType::I64,
            WireType::Bytes => DType::Other,
        }
    }

    /// Bytes per element in the binary layout; `None` for BYTES (length-prefixed).
    fn width(self) -> Option<usize> {
        Some(match self {
            WireType::Bool | WireType::U8 | WireType::I8 => 1,
            WireType::U16 | WireType::I16 | WireType::F16 => 2,
            WireType::U32 | WireType::I32 | WireType::F32 => 4,
            WireType::U64 | WireType::I64 | WireType::F64 => 8,
            WireType::Bytes => return None,
        })
    }

    /// FP16 cannot be written as JSON numbers (the spec says so); everything else but BYTES can.
    pub fn json_capable(self) -> bool {
        !matches!(self, WireType::F16 | WireType::Bytes)
    }
}

fn mismatch(wire: WireType, t: &Tensor) -> String {
    format!("the server's {} input needs a {} tensor, got {}", wire.name(), wire.input_dtype(), t.dtype())
}

/// The tensor as a flat JSON `data` array.
pub fn to_json(wire: WireType, t: &Tensor) -> Result<Value, String> {
    let arr: Vec<Value> = match (wire, t.data()) {
        (WireType::F32, TensorData::F32(v)) => {
            if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
                return Err(format!("{bad} cannot be written as JSON; the server does not take binary tensors"));
            }
            v.iter().map(|&x| Value::from(x)).collect()
        }
        (WireType::Bool, TensorData::U8(v)) => v.iter().map(|&x| Value::Bool(x != 0)).collect(),
        (WireType::U8, TensorData::U8(v)) => v.iter().map(|&x| Value::from(x)).collect(),
        (WireType::I8, TensorData::I8(v)) => v.iter().map(|&x| Value::from(x)).collect(),
        (WireType::I32, TensorData::I32(v)) => v.iter().map(|&x| Value::from(x)).collect(),
        (WireType::I64, TensorData::I64(v)) => v.iter().map(|&x| Value::from(x)).collect(),
        _ if !wire.json_capable() => return Err(format!("{} cannot be sent as JSON and the server does not take binary tensors", wire.name())),
        _ => return Err(mismatch(wire, t)),
    };
    Ok(Value::Array(arr))
}

/// The tensor's raw bytes in the binary tensor data layout.
pub fn to_binary(wire: WireType, t: &Tensor, out: &mut Vec<u8>) -> Result<(), String> {
    match (wire, t.data()) {
        (WireType::F32, TensorData::F32(v)) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        (WireType::F16, TensorData::F32(v)) => v.iter().for_each(|&x| out.extend_from_slice(&half::f16::from_f32(x).to_le_bytes())),
        (WireType::Bool, TensorData::U8(v)) => out.extend(v.iter().map(|&x| u8::from(x != 0))),
        (WireType::U8, TensorData::U8(v)) => out.extend_from_slice(v),
        (WireType::I8, TensorData::I8(v)) => out.extend(v.iter().map(|&x| x as u8)),
        (WireType::I32, TensorData::I32(v)) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        (WireType::I64, TensorData::I64(v)) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        _ => return Err(mismatch(wire, t)),
    }
    Ok(())
}

/// The element count of an output shape the server sent, an error when it overflows.
pub(crate) fn elements(shape: &[usize]) -> Result<usize, String> {
    element_count(shape).ok_or_else(|| format!("shape {shape:?} has more elements than this machine can count"))
}

/// An output tensor from raw bytes. Narrow types widen losslessly (FP16 → f32, BOOL → u8,
/// INT16/UINT16 → i32, UINT32 → i64); FP64 narrows to f32; UINT64 must fit in i64.
pub fn from_binary(wire: WireType, shape: Vec<usize>, bytes: &[u8]) -> Result<Tensor, String> {
    let w = wire.width().ok_or("BYTES outputs are not numbers; aite cannot score them")?;
    let need = elements(&shape)?.checked_mul(w).ok_or_else(|| format!("{} output of shape {shape:?} has more bytes than this machine can count", wire.name()))?;
    if bytes.len() != need {
        return Err(format!("{} output of shape {shape:?} needs {need} bytes, the server sent {}", wire.name(), bytes.len()));
    }
    let c = bytes.chunks_exact(w);
    let data = match wire {
        WireType::F32 => TensorData::F32(c.map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()),
        WireType::F16 => TensorData::F32(c.map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect()),
        WireType::F64 => TensorData::F32(c.map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32).collect()),
        WireType::Bool => TensorData::U8(bytes.iter().map(|&b| u8::from(b != 0)).collect()),
        WireType::U8 => TensorData::U8(bytes.to_vec()),
        WireType::I8 => TensorData::I8(bytes.iter().map(|&b| b as i8).collect()),
        WireType::I16 => TensorData::I32(c.map(|b| i16::from_le_bytes([b[0], b[1]]) as i32).collect()),
        WireType::U16 => TensorData::I32(c.map(|b| u16::from_le_bytes([b[0], b[1]]) as i32).collect()),
        WireType::I32 => TensorData::I32(c.map(|b| i32::from_le_bytes(b.try_into().unwrap())).collect()),
        WireType::U32 => TensorData::I64(c.map(|b| u32::from_le_bytes(b.try_into().unwrap()) as i64).collect()),
        WireType::I64 => TensorData::I64(c.map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect()),
        WireType::U64 => TensorData::I64(
            c.map(|b| i64::try_from(u64::from_le_bytes(b.try_into().unwrap())).map_err(|_| "a UINT64 output value does not fit in i64".to_string()))
                .collect::<Result<_, _>>()?,
        ),
        WireType::Bytes => unreachable!("width() is None for BYTES"),
    };
    Tensor::new(shape, data).map_err(|e| e.to_string())
}

/// An output tensor from a JSON `data` array (flat or nested, row-major).
pub fn from_json(wire: WireType, shape: Vec<usize>, data: &Value) -> Result<Tensor, String> {
    let n = elements(&shape)?;
    let mut flat = Vec::new();
    flatten(data, &mut flat);
    if flat.len() != n {
        return Err(format!("output of shape {shape:?} needs {n} values, the server sent {}", flat.len()));
    }
    let num = |v: &Value| v.as_f64().ok_or_else(|| format!("{} output holds a non-number: {v}", wire.name()));
    let int = |v: &Value| v.as_i64().ok_or_else(|| format!("{} output holds a non-integer: {v}", wire.name()));
    let data = match wire {
        WireType::F32 | WireType::F16 | WireType::F64 => TensorData::F32(flat.iter().map(|v| num(v).map(|x| x as f32)).collect::<Result<_, _>>()?),
        WireType::Bool => TensorData::U8(
            flat.iter().map(|v| v.as_bool().map(u8::from).or_else(|| v.as_u64().filter(|&x| x <= 1).map(|x| x as u8)).ok_or_else(|| format!("BOOL output holds {v}"))).collect::<Result<_, _>>()?,
        ),
        WireType::U8 => TensorData::U8(flat.iter().map(|v| int(v).and_then(|x| u8::try_from(x).map_err(|_| format!("UINT8 output holds {x}")))).collect::<Result<_, _>>()?),
        WireType::I8 => TensorData::I8(flat.iter().map(|v| int(v).and_then(|x| i8::try_from(x).map_err(|_| format!("INT8 output holds {x}")))).collect::<Result<_, _>>()?),
        WireType::I16 | WireType::U16 | WireType::I32 => {
            TensorData::I32(flat.iter().map(|v| int(v).and_then(|x| i32::try_from(x).map_err(|_| format!("{} output holds {x}", wire.name())))).collect::<Result<_, _>>()?)
        }
        WireType::U32 | WireType::I64 | WireType::U64 => TensorData::I64(flat.iter().map(|v| int(v)).collect::<Result<_, _>>()?),
        WireType::Bytes => return Err("BYTES outputs are not numbers; aite cannot score them".into()),
    };
    Tensor::new(shape, data).map_err(|e| e.to_string())
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        x => out.push(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_layout_is_little_endian_row_major() {
        let t = Tensor::f32(vec![1, 2], vec![1.0, -2.5]).unwrap();
        let mut b = Vec::new();
        to_binary(WireType::F32, &t, &mut b).unwrap();
        // 1.0f32 = 0x3F800000, -2.5f32 = 0xC0200000, little-endian.
        assert_eq!(b, [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0]);
        b.clear();
        to_binary(WireType::F16, &t, &mut b).unwrap();
        // 1.0f16 = 0x3C00, -2.5f16 = 0xC100.
        assert_eq!(b, [0x00, 0x3C, 0x00, 0xC1]);
        assert_eq!(from_binary(WireType::F16, vec![2], &b).unwrap().to_f32_vec(), vec![1.0, -2.5]);
        let i = from_binary(WireType::I64, vec![1], &(-3i64).to_le_bytes()).unwrap();
        assert_eq!(i.data(), &TensorData::I64(vec![-3]));
        assert!(from_binary(WireType::F32, vec![3], &b).unwrap_err().contains("needs 12 bytes"));
    }

    #[test]
    fn hostile_shapes_are_errors_not_overflows() {
        let huge = vec![1usize << 62, 4];
        assert!(from_binary(WireType::F32, huge.clone(), &[]).unwrap_err().contains("more elements than this machine can count"));
        assert!(from_binary(WireType::U8, vec![usize::MAX / 2, 1], &[]).is_err());
        // 2^62 elements fit, 2^62 * 8 bytes do not.
        assert!(from_binary(WireType::I64, vec![1 << 62], &[]).unwrap_err().contains("more bytes than this machine can count"));
        assert!(from_json(WireType::F32, huge, &serde_json::json!([])).unwrap_err().contains("more elements than this machine can count"));
        // A 0-dim (scalar) output holds one value.
        assert!(from_binary(WireType::F32, vec![], &[]).unwrap_err().contains("needs 4 bytes, the server sent 0"));
        assert!(from_json(WireType::F32, vec![], &serde_json::json!([])).unwrap_err().contains("needs 1 values"));
        assert_eq!(from_json(WireType::F32, vec![], &serde_json::json!(1.5)).unwrap().to_f32_vec(), vec![1.5]);
        assert_eq!(from_binary(WireType::F32, vec![], &1.5f32.to_le_bytes()).unwrap().to_f32_vec(), vec![1.5]);
    }

    #[test]
    fn json_nested_or_flat_and_bool() {
        let v: Value = serde_json::from_str("[[1, 2], [3, 4]]").unwrap();
        assert_eq!(from_json(WireType::I64, vec![2, 2], &v).unwrap().data(), &TensorData::I64(vec![1, 2, 3, 4]));
        let v: Value = serde_json::from_str("[true, false]").unwrap();
        assert_eq!(from_json(WireType::Bool, vec![2], &v).unwrap().data(), &TensorData::U8(vec![1, 0]));
        assert!(from_json(WireType::U8, vec![1], &serde_json::json!([300])).unwrap_err().contains("UINT8 output holds 300"));
        let t = Tensor::f32(vec![1], vec![f32::NAN]).unwrap();
        assert!(to_json(WireType::F32, &t).unwrap_err().contains("cannot be written as JSON"));
        let t = Tensor::new(vec![2], TensorData::U8(vec![0, 7])).unwrap();
        assert_eq!(to_json(WireType::Bool, &t).unwrap(), serde_json::json!([false, true]));
        assert!(to_json(WireType::F16, &Tensor::f32(vec![1], vec![1.0]).unwrap()).unwrap_err().contains("FP16 cannot be sent as JSON"));
    }
}
