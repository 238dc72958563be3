//! The Open Inference Protocol (KServe v2 REST) beyond `GET /v2`: the model
//! repository index (`POST /v2/repository/index`), the model's metadata, and
//! malformed and oversized tensors sent to `infer`, each of which must be
//! answered with a 4xx. They go to a model the index lists as `READY`, after a
//! well-formed control request (zeros of the declared shapes) got a 2xx: without
//! that control a 4xx may mean "unknown input" or "model not ready", not validation. Load and unload (`POST /v2/repository/models/M/load`,
//! `/unload`) are never sent: the repository extension serves them with the
//! index, so an index answered without credentials is the evidence that they
//! are reachable too (and `GET /v2`'s `extensions` naming `model_repository`).
//! A server whose index lists no READY model (PyTriton loads its models through
//! the API, so its repository folder and index are empty) is asked for the
//! models its statistics extension (`GET /v2/models/stats`) names, each
//! confirmed by `GET /v2/models/M/ready` answering 200. Model names come from the server,
//! so they enter request paths percent-encoded ([`model_path`]): a name with a space, `?`,
//! `/`, `..` or CR/LF cannot make a malformed request whose 4xx would be taken for validation.

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
    /// READY models found through `GET /v2/models/stats` when the index listed none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statistics_models: Vec<String>,
    /// The model the malformed requests went to (listed `READY` by the index or the statistics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The well-formed request sent first (zeros of the declared shapes); it must get a 2xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<MalformedAnswer>,
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

/// A repository index entry: the model's name and its `state` (`READY`, `UNAVAILABLE`...).
pub type IndexEntry = (String, Option<String>);

/// The entries of a repository index answer (a JSON array of `{name, state, ...}`).
pub fn index_entries(r: &Response) -> Option<Vec<IndexEntry>> {
    if r.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    Some(v.as_array()?.iter().filter_map(|m| Some((m.get("name")?.as_str()?.to_string(), m.get("state").and_then(|s| s.as_str()).map(str::to_string)))).collect())
}

/// The model names of a repository index answer.
pub fn index_models(r: &Response) -> Option<Vec<String>> {
    index_entries(r).map(|e| e.into_iter().map(|(n, _)| n).collect())
}

/// The repository index without credentials: its status and its entries (name, state).
pub fn repository_index(ep: Endpoint, step: Duration, budget: &Budget) -> Result<(Response, Option<Vec<IndexEntry>>), String> {
    let t = budget.step(step).ok_or("the probe's total budget was spent")?;
    let r = post_json(ep, "/v2/repository/index", b"{}", t)?;
    let entries = index_entries(&r);
    Ok((r, entries))
}

/// The model names of a statistics answer (`{"model_stats": [{"name", ...}]}`, Triton's extension).
pub fn statistics_names(r: &Response) -> Option<Vec<String>> {
    if r.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    let mut names: Vec<String> = v.get("model_stats")?.as_array()?.iter().filter_map(|m| Some(m.get("name")?.as_str()?.to_string())).collect();
    names.dedup();
    Some(names)
}

/// `/v2/models/{model}{rest}` with the model name percent-encoded as one path segment
/// (every byte but RFC 3986's unreserved letters, digits, `-`, `_`, `~`; `.` too, so `..`
/// stays a name).
pub fn model_path(model: &str, rest: &str) -> String {
    let mut p = String::from("/v2/models/");
    for b in model.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            p.push(b as char);
        } else {
            p.push_str(&format!("%{b:02X}"));
        }
    }
    p.push_str(rest);
    p
}

/// The models the statistics extension names whose `GET /v2/models/M/ready` answers 200.
pub fn ready_from_statistics(ep: Endpoint, step: Duration, budget: &Budget) -> Vec<String> {
    let Some(names) = budget.step(step).and_then(|t| http::get(ep, "/v2/models/stats", None, t).ok()).and_then(|r| statistics_names(&r)) else { return Vec::new() };
    names.into_iter().filter(|m| budget.step(step).is_some_and(|t| http::get(ep, &model_path(m, "/ready"), None, t).is_ok_and(|r| r.status == 200))).collect()
}

/// One input a model's metadata declares (`-1`: a dynamic dimension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
}

/// The most elements the control request carries.
const MAX_CONTROL_ELEMENTS: usize = 65536;

/// The inputs of `GET /v2/models/M` (model metadata); `Err` says why they are not readable.
pub fn inputs(r: &Response) -> Result<Vec<InputSpec>, String> {
    if r.status != 200 {
        return Err(format!("status {}", r.status));
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| format!("not JSON: {e}"))?;
    let list = v.get("inputs").and_then(|i| i.as_array()).filter(|a| !a.is_empty()).ok_or("no inputs listed")?;
    list.iter()
        .map(|i| {
            let name = i.get("name").and_then(|n| n.as_str()).ok_or("an input without a name")?;
            let datatype = i.get("datatype").and_then(|n| n.as_str()).ok_or_else(|| format!("input {name:?} without a datatype"))?;
            let shape = i.get("shape").and_then(|s| s.as_array()).and_then(|s| s.iter().map(|d| d.as_i64()).collect::<Option<Vec<i64>>>()).ok_or_else(|| format!("input {name:?} without an integer shape"))?;
            Ok(InputSpec { name: name.into(), datatype: datatype.into(), shape })
        })
        .collect()
}

fn tensor(name: &str, datatype: &str, shape: &str, data: &str) -> String {
    format!("{{\"name\":{},\"datatype\":{},\"shape\":{shape},\"data\":{data}}}", serde_json::json!(name), serde_json::json!(datatype))
}

/// An input as a well-formed tensor of zeros (dynamic dimensions as 1).
fn zeros(i: &InputSpec) -> Result<String, String> {
    let shape: Vec<usize> = i.shape.iter().map(|&d| if d < 0 { 1 } else { d as usize }).collect();
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&n| n <= MAX_CONTROL_ELEMENTS).ok_or_else(|| format!("input {:?} declares shape {:?}, more than {MAX_CONTROL_ELEMENTS} elements for the control request", i.name, i.shape))?;
    let zero = match i.datatype.as_str() {
        "BOOL" => "false",
        "BYTES" => "\"\"",
        _ => "0",
    };
    Ok(tensor(&i.name, &i.datatype, &serde_json::json!(shape).to_string(), &format!("[{}]", vec![zero; n].join(","))))
}

/// The well-formed control request: every input, zeros of its declared shape.
pub fn control_body(inputs: &[InputSpec]) -> Result<Vec<u8>, String> {
    let all = inputs.iter().map(zeros).collect::<Result<Vec<_>, _>>()?;
    Ok(format!("{{\"inputs\":[{}]}}", all.join(",")).into_bytes())
}

/// The requests that must be refused with a 4xx: the first input made malformed, the
/// others (if any) well-formed zeros as in the control.
pub fn malformed_cases(inputs: &[InputSpec]) -> Vec<(&'static str, Vec<u8>)> {
    let (first, rest) = inputs.split_first().map(|(f, r)| (f.clone(), r)).unwrap_or((InputSpec { name: "input".into(), datatype: "FP32".into(), shape: vec![1] }, &[]));
    let others: String = rest.iter().filter_map(|i| zeros(i).ok()).map(|t| format!(",{t}")).collect();
    let (input, datatype) = (first.name.as_str(), first.datatype.as_str());
    let one = |shape: &str, data: &str, dt: &str| format!("{{\"inputs\":[{}{others}]}}", tensor(input, dt, shape, data)).into_bytes();
    let mut oversized = format!("{{\"inputs\":[{{\"name\":{},\"datatype\":{},\"shape\":[1,{}],\"data\":[", serde_json::json!(input), serde_json::json!(datatype), OVERSIZED_BYTES / 2).into_bytes();
    let tail = format!("0]}}{others}]}}");
    while oversized.len() < OVERSIZED_BYTES - 8 - tail.len() {
        oversized.extend_from_slice(b"0,");
    }
    oversized.extend_from_slice(tail.as_bytes());
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

/// POST one body to `model`'s infer route.
pub fn send(ep: Endpoint, model: &str, case: &str, body: &[u8], step: Duration, budget: &Budget) -> MalformedAnswer {
    let path = model_path(model, "/infer");
    match budget.step(step).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| post_json(ep, &path, body, t)) {
        Ok(r) => MalformedAnswer { case: case.into(), status: Some(r.status), error: None },
        Err(e) => MalformedAnswer { case: case.into(), status: None, error: Some(e) },
    }
}

/// Send each malformed request to `model`'s infer route.
pub fn send_malformed(ep: Endpoint, model: &str, inputs: &[InputSpec], step: Duration, budget: &Budget) -> Vec<MalformedAnswer> {
    malformed_cases(inputs).into_iter().map(|(case, body)| send(ep, model, case, &body, step, budget)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_json_where_they_should_be() {
        let spec = InputSpec { name: "input".into(), datatype: "FP32".into(), shape: vec![1, 4] };
        let cases = malformed_cases(std::slice::from_ref(&spec));
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
        // Triton 2.51's statistics answer (abridged from PyTriton 0.7.0, whose index is `[]`).
        let r = http::parse(b"HTTP/1.1 200 OK\r\n\r\n{\"model_stats\":[{\"name\":\"digits\",\"version\":\"1\",\"last_inference\":0,\"inference_count\":0}]}").unwrap();
        assert_eq!(statistics_names(&r), Some(vec!["digits".to_string()]));
        assert_eq!(statistics_names(&http::parse(b"HTTP/1.1 403 Forbidden\r\n\r\n{}").unwrap()), None);
        // Two inputs: the second rides along well-formed; the control is zeros of each shape (-1 as 1).
        let two = [spec, InputSpec { name: "mask".into(), datatype: "BOOL".into(), shape: vec![-1, 2] }];
        let control: serde_json::Value = serde_json::from_slice(&control_body(&two).unwrap()).unwrap();
        assert_eq!(control, serde_json::json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [0, 0, 0, 0]}, {"name": "mask", "datatype": "BOOL", "shape": [1, 2], "data": [false, false]}]}));
        for (name, body) in &malformed_cases(&two)[2..] {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(v["inputs"][1]["name"], "mask", "{name}");
        }
        assert!(control_body(&[InputSpec { name: "x".into(), datatype: "FP32".into(), shape: vec![1 << 40, 1 << 40] }]).is_err());
    }

    /// A hostile name from the statistics answer reaches the server as one encoded segment:
    /// the request line the server reads is well-formed and names the model, not another route.
    #[test]
    fn model_names_from_the_server_are_percent_encoded() {
        use std::io::{Read, Write};
        assert_eq!(model_path("digits", "/ready"), "/v2/models/digits/ready");
        assert_eq!(model_path("a b?x/../y\r\nHost: evil", "/infer"), "/v2/models/a%20b%3Fx%2F%2E%2E%2Fy%0D%0AHost%3A%20evil/infer");
        assert_eq!(model_path("\u{e9}", ""), "/v2/models/%C3%A9");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&got).lines().next().unwrap_or("").to_string();
                let body = if line.starts_with("GET /v2/models/stats ") { r#"{"model_stats":[{"name":"a b?x/../y\r\nHost: evil"}]}"# } else { "" };
                let status = if line.starts_with("GET /v2/models/stats ") || line.starts_with("GET /v2/models/a%20b") { "200 OK" } else { "404 Not Found" };
                // Record the line before answering: the client may read the answer and look at
                // the record before this thread runs again.
                let _ = tx.send(line);
                let _ = conn.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes());
            }
        });
        let ready = ready_from_statistics(Endpoint::plain(addr), Duration::from_secs(30), &Budget::new(Duration::from_secs(120)));
        assert_eq!(ready, ["a b?x/../y\r\nHost: evil"]);
        let lines: Vec<String> = rx.try_iter().collect();
        assert_eq!(lines, ["GET /v2/models/stats HTTP/1.0", "GET /v2/models/a%20b%3Fx%2F%2E%2E%2Fy%0D%0AHost%3A%20evil/ready HTTP/1.0"]);
    }
}
