//! Non-finite numbers in evidence.
//!
//! JSON has no NaN or infinity and serde_json writes them as `null`, which a reader
//! cannot tell from "absent" and which fails to read back into a number, so a section
//! holding one would vanish from every report. Fields that can hold a non-finite value
//! use these helpers (`#[serde(with = "aite_evidence::non_finite::f32")]`): finite values
//! are plain JSON numbers, the others the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
//! Reading accepts both, and `null` (written by builds before this helper) as NaN.
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Diff {
//!     #[serde(with = "aite_evidence::non_finite::f32")]
//!     max_abs_diff: f32,
//! }
//! let text = serde_json::to_string(&Diff { max_abs_diff: f32::NAN }).unwrap();
//! assert_eq!(text, r#"{"max_abs_diff":"NaN"}"#);
//! assert!(serde_json::from_str::<Diff>(&text).unwrap().max_abs_diff.is_nan());
//! ```

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;

/// The text written for a non-finite value, `None` for a finite one.
pub fn name(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("Infinity")
    } else if v == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

fn write<S: Serializer>(v: f64, s: S) -> Result<S::Ok, S::Error> {
    match name(v) {
        Some(text) => s.serialize_str(text),
        None => s.serialize_f64(v),
    }
}

/// Reads a number, one of the three names, or `null` (as `null_is`).
struct Number {
    null_is: Option<f64>,
}

impl<'de> Visitor<'de> for Number {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a number or one of "NaN", "Infinity", "-Infinity""#)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v {
            "NaN" => Ok(Some(f64::NAN)),
            "Infinity" => Ok(Some(f64::INFINITY)),
            "-Infinity" => Ok(Some(f64::NEG_INFINITY)),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.null_is)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.null_is)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// `f64` fields.
pub mod f64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        write(*v, s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(d.deserialize_any(Number { null_is: Some(f64::NAN) })?.unwrap_or(f64::NAN))
    }
}

/// `f32` fields.
pub mod f32 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
        write(*v as f64, s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
        super::f64::deserialize(d).map(|v| v as f32)
    }
}

/// `Option<f64>` fields: `null` is `None`.
pub mod option_f64 {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => write(*v, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(Number { null_is: None })
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize)]
    struct Row {
        #[serde(with = "super::f32")]
        a: f32,
        #[serde(with = "super::f64")]
        b: f64,
        #[serde(with = "super::option_f64")]
        c: Option<f64>,
    }

    #[test]
    fn non_finite_values_are_written_by_name_and_read_back() {
        let row = Row { a: f32::NAN, b: f64::NEG_INFINITY, c: Some(f64::INFINITY) };
        let text = serde_json::to_string(&row).unwrap();
        assert_eq!(text, r#"{"a":"NaN","b":"-Infinity","c":"Infinity"}"#);
        let back: Row = serde_json::from_str(&text).unwrap();
        assert!(back.a.is_nan() && back.b == f64::NEG_INFINITY && back.c == Some(f64::INFINITY));
        // Through a serde_json::Value too, as Results::add_suite does.
        let back: Row = serde_json::from_value(serde_json::to_value(&row).unwrap()).unwrap();
        assert!(back.a.is_nan());
    }

    #[test]
    fn finite_values_stay_numbers_and_null_keeps_its_meaning() {
        let text = serde_json::to_string(&Row { a: 0.5, b: 2.0, c: None }).unwrap();
        assert_eq!(text, r#"{"a":0.5,"b":2.0,"c":null}"#);
        let old: Row = serde_json::from_str(r#"{"a":null,"b":3,"c":null}"#).unwrap();
        assert!(old.a.is_nan() && old.b == 3.0 && old.c.is_none());
        let err = serde_json::from_str::<Row>(r#"{"a":"nan","b":1,"c":null}"#).unwrap_err();
        assert!(err.to_string().contains("NaN"), "{err}");
    }
}
