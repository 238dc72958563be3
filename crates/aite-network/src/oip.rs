//! The Open Inference Protocol (KServe v2 REST) beyond `GET /v2`: the model
//! repository index (`POST /v2/repository/index`), the model's metadata, and
//! malformed and oversized tensors sent to `infer`, each of which must be
//! answered with a 4xx. Load and unload (`POST /v2/repository/models/M/load`,
//! `/unload`) are never sent: the repository extension serves them with the
//! index, so an index answered without credentials is the evidence that they
//! are reachable too (and `GET /v2`'s `extensions` naming `model_repository`).

use crate::http::{self, Endpoint, Response};
use crate::scan::Budget;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The largest body sent (the oversized tensor), bytes.
pub const OVERSIZED_BYTES: usize = 1024 * 1024;

/// How the server answered one malformed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedAnswer {
    /// What was wrong with the request (`truncated JSON`, ...).
    pub case: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why there is no status (timeout, connection closed without an answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl MalformedAnswer {
    /// A clean rejection: a 4xx status.
    pub fn clean(&self) -> bool {
        self.status.is_some_and(|s| (400..500).contains(&s))
    }
}

/// What the OIP examination found on one HTTP service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OipReport {
    /// The status of `POST /v2/repository/index` without credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_index_status: Option<u16>,
    /// Models the index listed (without credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// `GET /v2` names the `model_repository` extension (load/unload declared).
    pub repository_extension: bool,
    /// The model the malformed requests went to, and its first input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<MalformedAnswer>,
    /// `GET /v2/health/live` after the malformed requests (the server still answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alive_after: Option<bool>,
}

pub fn post_json(ep: Endpoint, path: &str, body: &[u8], timeout: Duration) -> Result<Response, String> {
    let addr = ep.addr;
    let mut req = format!("POST {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: aite-probe\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
    req.extend_from_slice(body);
    http::request(ep, &req, timeout)
}

/// The model names of a repository index answer (a JSON array of `{name, ...}`).
pub fn index_models(r: &Response) -> Option<Vec<String>> {
    if r.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    Some(v.as_array()?.iter().filter_map(|m| m.get("name").and_then(|n| n.as_str()).map(str::to_string)).collect())
}

/// The repository index without credentials: its status and the models it lists.
pub fn repository_index(ep: Endpoint, step: Duration, budget: &Budget) -> Result<(Response, Option<Vec<String>>), String> {
    let t = budget.step(step).ok_or("the probe's total budget was spent")?;
    let r = post_json(ep, "/v2/repository/index", b"{}", t)?;
    let models = index_models(&r);
    Ok((r, models))
}

/// The requests that must be refused with a 4xx, for `input` (name, datatype) of a model.
pub fn malformed_cases(input: &str, datatype: &str) -> Vec<(&'static str, Vec<u8>)> {
    let one = |shape: &str, data: &str, dt: &str| format!("{{\"inputs\":[{{\"name\":{},\"datatype\":{},\"shape\":{shape},\"data\":{data}}}]}}", serde_json::json!(input), serde_json::json!(dt)).into_bytes();
    let mut oversized = format!("{{\"inputs\":[{{\"name\":{},\"datatype\":{},\"shape\":[1,{}],\"data\":[", serde_json::json!(input), serde_json::json!(datatype), OVERSIZED_BYTES / 2).into_bytes();
    while oversized.len() < OVERSIZED_BYTES - 8 {
        oversized.extend_from_slice(b"0,");
    }
    oversized.extend_from_slice(b"0]}]}");
    vec![
        ("truncated JSON", b"{\"inputs\": [{\"name\": ".to_vec()),
        ("no inputs", b"{\"outputs\": []}".to_vec()),
        ("data shorter than the shape", one("[1,2,3,4]", "[0]", datatype)),
        ("unknown datatype", one("[1]", "[0]", "NOT_A_TYPE")),
        ("negative shape", one("[-1,4]", "[0]", datatype)),
        ("a shape of 2^62 elements with one value", one("[2147483648,2147483648]", "[0]", datatype)),
        ("a 1 MiB tensor of the wrong shape", oversized),
    ]
}

/// Send each malformed request to `model`'s infer route.
pub fn send_malformed(ep: Endpoint, model: &str, input: &str, datatype: &str, step: Duration, budget: &Budget) -> Vec<MalformedAnswer> {
    let path = format!("/v2/models/{model}/infer");
    malformed_cases(input, datatype)
        .into_iter()
        .map(|(case, body)| match budget.step(step).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| post_json(ep, &path, &body, t)) {
            Ok(r) => MalformedAnswer { case: case.into(), status: Some(r.status), error: None },
            Err(e) => MalformedAnswer { case: case.into(), status: None, error: Some(e) },
        })
        .collect()
}

/// The first input's name and datatype from `GET /v2/models/M` (model metadata).
pub fn first_input(r: &Response) -> Option<(String, String)> {
    if r.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    let i = v.get("inputs")?.as_array()?.first()?;
    Some((i.get("name")?.as_str()?.to_string(), i.get("datatype")?.as_str()?.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_json_where_they_should_be() {
        let cases = malformed_cases("input", "FP32");
        assert!(serde_json::from_slice::<serde_json::Value>(&cases[0].1).is_err(), "truncated JSON stays truncated");
        for (name, body) in &cases[1..] {
            assert!(serde_json::from_slice::<serde_json::Value>(body).is_ok(), "{name} is well-formed JSON with a wrong tensor");
        }
        let big = &cases.last().unwrap().1;
        assert!(big.len() <= OVERSIZED_BYTES && big.len() > OVERSIZED_BYTES - 16, "{}", big.len());
        let r = http::parse(b"HTTP/1.1 200 OK\r\n\r\n[{\"name\":\"digits\",\"version\":\"1\",\"state\":\"READY\"}]").unwrap();
        assert_eq!(index_models(&r), Some(vec!["digits".to_string()]));
        let r = http::parse(b"HTTP/1.1 200 OK\r\n\r\n<html></html>").unwrap();
        assert_eq!(index_models(&r), None);
    }
}
