//! The Open Inference Protocol (KServe v2) REST target: set-up (health, metadata),
//! inference with JSON or binary tensors, and the ledger of every request.

use crate::codec::{self, WireType};
use crate::http::{Failure, HttpClient, Response};
use crate::{OipUrl, RemoteError};
use aite_target::{Dim, PhaseTotal, RequestCounts, RequestOutcome, ServerStats, Target, TargetError, TargetInfo, Tensor, TensorSpec};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How tensors travel in inference requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transfer {
    /// Binary when the server advertises `binary_tensor_data` in `GET /v2`, else JSON.
    Auto,
    Json,
    Binary,
}

/// Settings of a remote target.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Deadline of each request, connection included.
    pub timeout: Duration,
    pub transfer: Transfer,
    /// Full shape of the first input where the metadata has variable (-1) dimensions.
    pub input_shape: Option<Vec<usize>>,
    /// Where a command target's wrapper program logs its stderr for the evidence.
    pub wrapper_log: Option<crate::WrapperLog>,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions { timeout: Duration::from_secs(10), transfer: Transfer::Auto, input_shape: None, wrapper_log: None }
    }
}

/// Which endpoint a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    ServerReady,
    ServerMetadata,
    ModelReady,
    ModelMetadata,
    Infer,
    /// `GET …/stats` (Triton's statistics extension); recorded, not counted with the model's requests.
    Statistics,
}

/// One request attempt, as the client saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Attempt number since the target was created (retries get their own).
    pub seq: u64,
    pub endpoint: Endpoint,
    pub outcome: RequestOutcome,
    /// HTTP status when the server answered.
    pub status: Option<u16>,
    /// Client-side time from writing the request to the decoded answer (or the failure).
    pub latency_ns: u64,
    /// Sent on a kept-alive connection an earlier request had used.
    pub reused_connection: bool,
    /// This attempt is the one retry the policy allows (after a reset of a reused connection).
    pub retry: bool,
    /// The failure as the client or the server stated it.
    pub detail: Option<String>,
}

/// A model behind an Open Inference Protocol REST endpoint.
///
/// Each request has a deadline ([`RemoteOptions::timeout`]); one TCP connection is
/// kept alive between requests. A request that hits a reset on a *reused* connection
/// (the server closed it while idle) is sent once more on a fresh connection, and both
/// attempts are recorded, the second flagged; nothing else is retried.
pub struct OipTarget {
    url: OipUrl,
    client: HttpClient,
    info: TargetInfo,
    wire_inputs: Vec<WireType>,
    binary: bool,
    extensions: Vec<String>,
    counts: RequestCounts,
    records: Vec<RequestRecord>,
}

/// Request headers: name and value.
type Headers = Vec<(&'static str, String)>;

/// A request that ended in anything but a decoded success.
struct CallError {
    outcome: RequestOutcome,
    message: String,
}

impl OipTarget {
    /// Connect, check server and model readiness, and read the model metadata.
    pub fn connect(url: &str, options: &RemoteOptions) -> Result<OipTarget, RemoteError> {
        let url = OipUrl::parse(url)?;
        let mut t = OipTarget {
            client: HttpClient::new(url.authority(), options.timeout),
            url,
            info: TargetInfo { name: String::new(), engine: String::new(), engine_version: String::new(), threads: 1, inputs: vec![], outputs: vec![] },
            wire_inputs: vec![],
            binary: false,
            extensions: vec![],
            counts: RequestCounts::default(),
            records: vec![],
        };
        let fail = |t: &OipTarget, what: &'static str, path: &str, e: CallError, hint: &'static str| RemoteError::Request {
            what,
            url: t.http_url(path),
            outcome: e.outcome,
            message: e.message,
            hint,
        };
        // Health by status code only: servers disagree on the body (empty, {"ready":true}, ...).
        let ready = t.url.server_path("/health/ready");
        t.call(Endpoint::ServerReady, "GET", &ready, &[], &[], |_| Ok(()))
            .map_err(|e| fail(&t, "server readiness", &ready, e, "is the server running and listening on this host and port?"))?;
        let server = t.url.server_path("");
        let server_meta = t.call(Endpoint::ServerMetadata, "GET", &server, &[], &[], json_body);
        let (server_name, server_version) = match &server_meta {
            Ok(v) => {
                t.extensions = v["extensions"].as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default();
                (v["name"].as_str().unwrap_or("unknown").to_string(), v["version"].as_str().unwrap_or("unknown").to_string())
            }
            // Server metadata is optional for aite: without it, no extension is assumed.
            Err(_) => ("unknown".into(), "unknown".into()),
        };
        let model = t.url.model_path();
        let model_ready = format!("{model}/ready");
        t.call(Endpoint::ModelReady, "GET", &model_ready, &[], &[], |_| Ok(()))
            .map_err(|e| fail(&t, "model readiness", &model_ready, e, "check the model name (and version) in the URL against the server's repository"))?;
        let meta = t.call(Endpoint::ModelMetadata, "GET", &model, &[], &[], json_body).map_err(|e| fail(&t, "model metadata", &model, e, "the server must implement GET /v2/models/NAME"))?;
        let meta_url = t.http_url(&model);
        let (in_specs, wire_inputs, outputs) = model_tensors(&meta, options.input_shape.as_deref(), &meta_url)?;
        let bad = |reason: String, hint: &str| RemoteError::Metadata { url: meta_url.clone(), reason, hint: hint.into() };
        let advertised = t.extensions.iter().any(|e| e == "binary_tensor_data");
        t.binary = match options.transfer {
            Transfer::Auto => advertised,
            Transfer::Binary => true,
            Transfer::Json => false,
        };
        if !t.binary {
            if let Some((s, w)) = in_specs.iter().zip(&wire_inputs).find(|(_, w)| !w.json_capable()) {
                return Err(bad(
                    format!("input `{}` is {}, which cannot travel as JSON, and binary tensors are {}", s.name, w.name(), if advertised { "turned off" } else { "not advertised by the server" }),
                    "use a server with the binary_tensor_data extension",
                ));
            }
        }
        t.info = TargetInfo {
            name: t.url.to_string(),
            engine: format!("oip-rest-{}", if t.binary { "binary" } else { "json" }),
            engine_version: format!("{server_name} {server_version}"),
            threads: 1,
            inputs: in_specs,
            outputs,
        };
        t.wire_inputs = wire_inputs;
        Ok(t)
    }

    /// Every request attempt so far, in order.
    pub fn records(&self) -> &[RequestRecord] {
        &self.records
    }

    /// Extensions the server advertised in `GET /v2`.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Tensors travel with the binary tensor data extension.
    pub fn binary(&self) -> bool {
        self.binary
    }

    /// Change the deadline of the following requests.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.client.timeout = timeout;
    }

    /// TCP connections opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.client.connections
    }

    fn http_url(&self, path: &str) -> String {
        format!("http://{}{}", self.url.authority(), path)
    }

    /// One request with the retry policy; every attempt recorded.
    fn call<T>(&mut self, endpoint: Endpoint, method: &str, path: &str, headers: &[(&str, String)], body: &[u8], decode: impl Fn(&Response) -> Result<T, String>) -> Result<T, CallError> {
        let mut retry = false;
        loop {
            let start = Instant::now();
            let sent = self.client.send(method, path, headers, body, retry);
            let (result, status, reused) = match sent {
                Err(Failure { outcome, reused, detail }) => (Err(CallError { outcome, message: detail }), None, reused),
                Ok(r) => {
                    let (status, reused) = (r.status, r.reused);
                    let res = if (200..300).contains(&status) {
                        decode(&r).map_err(|m| CallError { outcome: RequestOutcome::Malformed, message: m })
                    } else {
                        Err(CallError { outcome: if status >= 500 { RequestOutcome::Http5xx } else { RequestOutcome::Http4xx }, message: format!("HTTP {status}: {}", server_message(&r)) })
                    };
                    // An informational or redirect status is not an answer either.
                    let res = if (300..400).contains(&status) || status < 200 { Err(CallError { outcome: RequestOutcome::Malformed, message: format!("HTTP {status}: aite does not follow redirects") }) } else { res };
                    (res, Some(status), reused)
                }
            };
            let latency_ns = start.elapsed().as_nanos() as u64;
            let outcome = result.as_ref().map_or_else(|e| e.outcome, |_| RequestOutcome::Ok);
            self.counts.add(outcome);
            if retry {
                self.counts.retried += 1;
            }
            self.records.push(RequestRecord {
                seq: self.records.len() as u64,
                endpoint,
                outcome,
                status,
                latency_ns,
                reused_connection: reused,
                retry,
                detail: result.as_ref().err().map(|e| e.message.clone()),
            });
            match result {
                Err(e) if e.outcome == RequestOutcome::Reset && reused && !retry => retry = true,
                r => return r,
            }
        }
    }

    fn request_body(&self, inputs: &[Tensor]) -> Result<(Vec<u8>, Headers), TargetError> {
        let mismatch = |reason: String| TargetError::InputMismatch { target: self.info.name.clone(), reason };
        let mut tensors = Vec::with_capacity(inputs.len());
        let mut raw = Vec::new();
        for ((t, spec), &wire) in inputs.iter().zip(&self.info.inputs).zip(&self.wire_inputs) {
            let mut entry = json!({"name": spec.name, "shape": t.shape(), "datatype": wire.name()});
            if self.binary {
                let before = raw.len();
                codec::to_binary(wire, t, &mut raw).map_err(mismatch)?;
                entry["parameters"] = json!({"binary_data_size": raw.len() - before});
            } else {
                entry["data"] = codec::to_json(wire, t).map_err(mismatch)?;
            }
            tensors.push(entry);
        }
        let mut header = json!({"inputs": tensors});
        if self.binary {
            header["parameters"] = json!({"binary_data_output": true});
        }
        let mut body = serde_json::to_vec(&header).expect("a JSON value serialises");
        let mut headers = vec![("Content-Type", "application/json".to_string())];
        if self.binary {
            headers = vec![("Content-Type", "application/octet-stream".to_string()), ("Inference-Header-Content-Length", body.len().to_string())];
            body.extend_from_slice(&raw);
        }
        Ok((body, headers))
    }
}

/// Inputs checked against the metadata before anything is sent (count, dtype, rank, fixed dimensions).
pub(crate) fn check_inputs(info: &TargetInfo, inputs: &[Tensor]) -> Result<(), TargetError> {
    let mismatch = |reason: String| TargetError::InputMismatch { target: info.name.clone(), reason };
    if inputs.len() != info.inputs.len() {
        return Err(mismatch(format!("the model takes {} input(s), {} given", info.inputs.len(), inputs.len())));
    }
    for (t, spec) in inputs.iter().zip(&info.inputs) {
        if t.dtype() != spec.dtype {
            return Err(mismatch(format!("input `{}` is {}, a {} tensor was given", spec.name, spec.dtype, t.dtype())));
        }
        let fits = spec.shape.is_empty() || (spec.shape.len() == t.shape().len() && spec.shape.iter().zip(t.shape()).all(|(d, &n)| matches!(d, Dim::Symbolic(_)) || *d == Dim::Fixed(n)));
        if !fits {
            return Err(mismatch(format!("input `{}` has shape {}, a tensor of shape {:?} was given", spec.name, spec.shape_string(), t.shape())));
        }
    }
    Ok(())
}

/// Input specs, their wire datatypes, and output specs of a model.
pub(crate) type ModelTensors = (Vec<TensorSpec>, Vec<WireType>, Vec<TensorSpec>);

/// Inputs and outputs of an OIP model-metadata object (`{"inputs":[{name,datatype,shape}],"outputs":[…]}`),
/// with `--input-shape` applied to the first input. `url` names where the metadata came from.
pub(crate) fn model_tensors(meta: &Value, input_shape: Option<&[usize]>, url: &str) -> Result<ModelTensors, RemoteError> {
    let bad = |reason: String, hint: &str| RemoteError::Metadata { url: url.to_string(), reason, hint: hint.into() };
    let parse = |key: &str| -> Result<Vec<(TensorSpec, WireType)>, RemoteError> {
        let list = meta[key].as_array().ok_or_else(|| bad(format!("no `{key}` list"), "the server must describe the model's tensors"))?;
        list.iter()
            .map(|x| {
                let name = x["name"].as_str().ok_or_else(|| bad(format!("an entry of `{key}` has no name"), "a server defect"))?;
                let dt = x["datatype"].as_str().unwrap_or("");
                let wire = WireType::parse(dt).ok_or_else(|| bad(format!("{name}: unknown datatype `{dt}`"), "OIP datatypes are BOOL, UINT8..64, INT8..64, FP16, FP32, FP64, BYTES"))?;
                let shape = x["shape"].as_array().map(|a| a.iter().map(|d| match d.as_i64() {
                    Some(n) if n >= 0 => Dim::Fixed(n as usize),
                    _ => Dim::Symbolic("-1".into()),
                }).collect()).unwrap_or_default();
                let dtype = if key == "inputs" { wire.input_dtype() } else { wire.output_dtype() };
                Ok((TensorSpec { name: name.to_string(), dtype, shape }, wire))
            })
            .collect()
    };
    let inputs = parse("inputs")?;
    let outputs = parse("outputs")?;
    if inputs.is_empty() {
        return Err(bad("the model lists no inputs".into(), "declare the model's inputs on the server (MLServer: in model-settings.json)"));
    }
    let (mut in_specs, wire_inputs): (Vec<TensorSpec>, Vec<WireType>) = inputs.into_iter().unzip();
    if let Some(shape) = input_shape {
        let first = &mut in_specs[0];
        let compatible = first.shape.is_empty() || (first.shape.len() == shape.len() && first.shape.iter().zip(shape).all(|(d, &n)| matches!(d, Dim::Symbolic(_)) || *d == Dim::Fixed(n)));
        if !compatible {
            return Err(bad(format!("--input-shape {shape:?} does not fit input `{}` of shape {}", first.name, first.shape_string()), "give only the variable (-1) dimensions a value"));
        }
        first.shape = shape.iter().map(|&n| Dim::Fixed(n)).collect();
    }
    // No shape (`[]` or none): every tensor would fit it, and a suite's synthetic input would be a scalar.
    if in_specs[0].shape.is_empty() {
        return Err(bad(format!("input `{}` has no shape", in_specs[0].name), "pass its full shape with --input-shape (e.g. --input-shape 1,3,224,224)"));
    }
    if let Some((s, w)) = in_specs.iter().zip(&wire_inputs).find(|(_, w)| w.input_dtype() == aite_target::DType::Other) {
        return Err(bad(format!("input `{}` is {}, which aite does not send", s.name, w.name()), "aite sends FP32, FP16, INT8, UINT8, INT32, INT64 and BOOL inputs"));
    }
    Ok((in_specs, wire_inputs, outputs.into_iter().map(|(s, _)| s).collect()))
}

/// Outputs in the order the metadata lists them; any the metadata does not list follow.
pub(crate) fn in_metadata_order(info: &TargetInfo, outputs: Vec<(String, Tensor)>) -> Vec<Tensor> {
    let mut ordered = Vec::with_capacity(outputs.len());
    let mut rest = outputs;
    for spec in &info.outputs {
        if let Some(i) = rest.iter().position(|(n, _)| *n == spec.name) {
            ordered.push(rest.remove(i).1);
        }
    }
    ordered.extend(rest.into_iter().map(|(_, t)| t));
    ordered
}

/// The model metadata an endpoint answers (`GET /v2/models/NAME`), as bytes: what the
/// evidence can pin of a model whose file stays on the device.
pub fn fetch_model_metadata(url: &str, timeout: Duration) -> Result<Vec<u8>, RemoteError> {
    let url = OipUrl::parse(url)?;
    let path = url.model_path();
    let mut client = HttpClient::new(url.authority(), timeout);
    let fail = |outcome, message| RemoteError::Request { what: "model metadata", url: format!("http://{}{path}", url.authority()), outcome, message, hint: "is the server running, and is the model name right?" };
    match client.send("GET", &path, &[], &[], true) {
        Ok(r) if r.status == 200 => Ok(r.body),
        Ok(r) => Err(fail(if r.status >= 500 { RequestOutcome::Http5xx } else { RequestOutcome::Http4xx }, format!("HTTP {}: {}", r.status, server_message(&r)))),
        Err(f) => Err(fail(f.outcome, f.detail)),
    }
}

/// The response body as JSON.
fn json_body(r: &Response) -> Result<Value, String> {
    serde_json::from_slice(&r.body).map_err(|e| format!("the body is not JSON ({e}): {}", snippet(&r.body)))
}

/// `{"error": "..."}` as the spec says, or the body as text (servers differ).
fn server_message(r: &Response) -> String {
    match serde_json::from_slice::<Value>(&r.body) {
        Ok(v) if v["error"].is_string() => v["error"].as_str().unwrap_or_default().to_string(),
        _ if r.body.is_empty() => "(empty body)".into(),
        _ => snippet(&r.body),
    }
}

pub(crate) fn snippet(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned();
    if b.len() > 200 { format!("{s}...") } else { s }
}

/// Decode an infer response: JSON, or a JSON header plus binary outputs.
fn decode_infer(r: &Response) -> Result<Vec<(String, Tensor)>, String> {
    let (head, raw): (&[u8], &[u8]) = match r.header("Inference-Header-Content-Length") {
        Some(n) => {
            let n: usize = n.trim().parse().map_err(|_| format!("bad Inference-Header-Content-Length {n:?}"))?;
            if n > r.body.len() {
                return Err(format!("Inference-Header-Content-Length {n} exceeds the body's {} bytes", r.body.len()));
            }
            r.body.split_at(n)
        }
        None => (&r.body, &[]),
    };
    let v: Value = serde_json::from_slice(head).map_err(|e| format!("the infer response is not JSON ({e}): {}", snippet(head)))?;
    decode_outputs(&v, raw)
}

/// The `outputs` of an infer response header, JSON `data` or `binary_data_size` bytes taken in order from `raw`.
pub(crate) fn decode_outputs(v: &Value, mut raw: &[u8]) -> Result<Vec<(String, Tensor)>, String> {
    let outputs = v["outputs"].as_array().ok_or_else(|| format!("the infer response has no `outputs`: {}", snippet(v.to_string().as_bytes())))?;
    let mut out = Vec::with_capacity(outputs.len());
    for o in outputs {
        let name = o["name"].as_str().ok_or("an output has no name")?.to_string();
        let dt = o["datatype"].as_str().unwrap_or("");
        let wire = WireType::parse(dt).ok_or_else(|| format!("output `{name}`: unknown datatype `{dt}`"))?;
        let shape: Vec<usize> = o["shape"].as_array().ok_or_else(|| format!("output `{name}` has no shape"))?
            .iter().map(|d| d.as_u64().map(|n| n as usize).ok_or_else(|| format!("output `{name}`: bad dimension {d}"))).collect::<Result<_, _>>()?;
        let tensor = match o["parameters"]["binary_data_size"].as_u64() {
            Some(n) => {
                let n = n as usize;
                if n > raw.len() {
                    return Err(format!("output `{name}` declares {n} binary bytes, {} remain in the body", raw.len()));
                }
                let (mine, rest) = raw.split_at(n);
                raw = rest;
                codec::from_binary(wire, shape, mine)
            }
            None => codec::from_json(wire, shape, o.get("data").ok_or_else(|| format!("output `{name}` has neither data nor binary_data_size"))?),
        }
        .map_err(|e| format!("output `{name}`: {e}"))?;
        out.push((name, tensor));
    }
    if !raw.is_empty() {
        return Err(format!("{} binary bytes after the last output", raw.len()));
    }
    Ok(out)
}

impl Target for OipTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }

    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        check_inputs(&self.info, inputs)?;
        let (body, headers) = self.request_body(inputs)?;
        let path = format!("{}/infer", self.url.model_path());
        let outputs = self.call(Endpoint::Infer, "POST", &path, &headers, &body, decode_infer).map_err(|e| TargetError::Inference {
            target: self.info.name.clone(),
            reason: format!("{} from {}: {}", e.outcome, self.http_url(&path), e.message),
        })?;
        Ok(in_metadata_order(&self.info, outputs))
    }

    fn request_counts(&self) -> Option<RequestCounts> {
        Some(self.counts)
    }

    fn server_stats(&mut self) -> Option<Result<ServerStats, String>> {
        if !self.extensions.iter().any(|e| e == "statistics") {
            return Some(Err(format!("{} does not advertise the statistics extension in GET /v2", self.info.engine_version)));
        }
        let path = format!("{}/stats", self.url.model_path());
        let counts = self.counts;
        let answer = self.call(Endpoint::Statistics, "GET", &path, &[], &[], json_body);
        self.counts = counts;
        Some(answer.map_err(|e| format!("GET {}: {}: {}", self.http_url(&path), e.outcome, e.message)).and_then(|v| triton_stats(&v, &path)))
    }
}

/// Triton's statistics answer (`{"model_stats":[{"inference_count","execution_count",
/// "inference_stats":{"success":{"count","ns"},…}}]}`), summed over the versions listed.
fn triton_stats(v: &Value, path: &str) -> Result<ServerStats, String> {
    let models = v["model_stats"].as_array().filter(|a| !a.is_empty()).ok_or_else(|| format!("GET {path} answered no model_stats: {}", snippet(v.to_string().as_bytes())))?;
    // Triton writes 64-bit counters as numbers; some builds as strings.
    let num = |x: &Value| x.as_u64().or_else(|| x.as_str().and_then(|s| s.parse().ok()));
    // A counter absent from any version is absent (`None`); a sum beyond u64 is an error, not a wrap.
    let sum = |field: &str, f: &dyn Fn(&Value) -> Option<u64>| -> Result<Option<u64>, String> {
        let mut acc = 0u64;
        for m in models {
            let Some(n) = f(m) else { return Ok(None) };
            acc = acc.checked_add(n).ok_or_else(|| format!("GET {path}: `{field}` summed over the model's versions overflows 64 bits"))?;
        }
        Ok(Some(acc))
    };
    let phase = |name: &str| -> Result<Option<PhaseTotal>, String> {
        let count = sum(&format!("inference_stats.{name}.count"), &|m| num(&m["inference_stats"][name]["count"]))?;
        let ns = sum(&format!("inference_stats.{name}.ns"), &|m| num(&m["inference_stats"][name]["ns"]))?;
        Ok(count.zip(ns).map(|(count, ns)| PhaseTotal { count, ns }))
    };
    Ok(ServerStats {
        source: format!("triton statistics extension, GET {path}"),
        inference_count: sum("inference_count", &|m| num(&m["inference_count"]))?,
        execution_count: sum("execution_count", &|m| num(&m["execution_count"]))?,
        success: phase("success")?,
        fail: phase("fail")?,
        queue: phase("queue")?,
        compute_input: phase("compute_input")?,
        compute_infer: phase("compute_infer")?,
        compute_output: phase("compute_output")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hostile_output_shapes_are_errors_naming_the_output() {
        // REST JSON data, REST binary data and the command target (same decoder).
        let huge = json!([1u64 << 62, 4]);
        let v = json!({"outputs": [{"name": "y", "datatype": "FP32", "shape": huge, "data": []}]});
        let e = decode_outputs(&v, &[]).unwrap_err();
        assert!(e.contains("output `y`") && e.contains("more elements than this machine can count"), "{e}");
        let v = json!({"outputs": [{"name": "y", "datatype": "FP32", "shape": huge, "parameters": {"binary_data_size": 0}}]});
        let e = decode_outputs(&v, &[]).unwrap_err();
        assert!(e.contains("output `y`") && e.contains("more elements than this machine can count"), "{e}");
        let v = json!({"outputs": [{"name": "y", "datatype": "FP32", "shape": [], "data": []}]});
        assert!(decode_outputs(&v, &[]).unwrap_err().contains("needs 1 values"));
        let v = json!({"outputs": [{"name": "y", "datatype": "FP32", "shape": [], "parameters": {"binary_data_size": 0}}]});
        assert!(decode_outputs(&v, &[]).unwrap_err().contains("needs 4 bytes"));
    }

    #[test]
    fn stats_sum_over_versions_and_refuse_overflow() {
        let path = "/v2/models/m/stats";
        let v = json!({"model_stats": [
            {"inference_count": 3, "execution_count": "2", "inference_stats": {"success": {"count": 3, "ns": 300}}},
            {"inference_count": 4, "execution_count": 1, "inference_stats": {"success": {"count": 4, "ns": 500}}},
        ]});
        let s = triton_stats(&v, path).unwrap();
        assert_eq!((s.inference_count, s.execution_count), (Some(7), Some(3)));
        assert_eq!(s.success, Some(PhaseTotal { count: 7, ns: 800 }));
        assert_eq!(s.queue, None);

        let big = u64::MAX - 1;
        let v = json!({"model_stats": [
            {"inference_count": 1, "inference_stats": {"success": {"count": big, "ns": 1}}},
            {"inference_count": 1, "inference_stats": {"success": {"count": big, "ns": 1}}},
        ]});
        let e = triton_stats(&v, path).unwrap_err();
        assert!(e.contains("GET /v2/models/m/stats") && e.contains("inference_stats.success.count") && e.contains("overflows"), "{e}");
        let v = json!({"model_stats": [{"inference_count": big}, {"inference_count": big.to_string()}]});
        let e = triton_stats(&v, path).unwrap_err();
        assert!(e.contains("GET /v2/models/m/stats") && e.contains("`inference_count`"), "{e}");
    }
}
