//! The Open Inference Protocol over gRPC (feature `grpc`): `oip+grpc://HOST:PORT/models/NAME`.
//!
//! tonic is asynchronous; the [`Target`] seam is not. The target owns a current-thread tokio
//! runtime and blocks on each call, so the rest of aite stays synchronous. Inputs travel as
//! `raw_input_contents` (the binary tensor layout), or as typed `contents` with
//! [`Transfer::Json`](crate::Transfer::Json); outputs are read from `raw_output_contents` when
//! the server sends them, else from the typed `contents`. Every attempt is a [`RequestRecord`]
//! with the outcome kinds REST uses; the channel reconnects by itself, and the one retry the policy
//! allows is, as over REST, for a reset of the connection an earlier request used. With Triton,
//! server time comes from its `ModelStatistics` rpc (outside the OIP; UNIMPLEMENTED elsewhere).

use crate::codec::{self, WireType};
use crate::oip::{check_inputs, in_metadata_order, model_tensors};
use crate::{Endpoint, OipUrl, RemoteError, RemoteOptions, RequestRecord, Transfer};
use aite_target::{PhaseTotal, RequestCounts, RequestOutcome, ServerStats, Target, TargetError, TargetInfo, Tensor, TensorData};
use serde_json::{json, Value};
use std::time::Instant;

/// Code generated from proto/open_inference_grpc.proto (package `inference`).
#[allow(clippy::all, missing_docs)]
pub mod proto {
    tonic::include_proto!("inference");
}

use proto::grpc_inference_service_client::GrpcInferenceServiceClient;
use proto::{model_infer_request, InferTensorContents, ModelInferRequest, ModelInferResponse};

/// A model behind an Open Inference Protocol gRPC endpoint.
pub struct GrpcTarget {
    url: OipUrl,
    runtime: tokio::runtime::Runtime,
    client: GrpcInferenceServiceClient<tonic::transport::Channel>,
    info: TargetInfo,
    wire_inputs: Vec<WireType>,
    typed_inputs: bool,
    metadata: Value,
    counts: RequestCounts,
    records: Vec<RequestRecord>,
    /// The last request reached the server (it answered, even with an error status): the next
    /// one goes over a connection an earlier request used.
    connected: bool,
}

/// A gRPC status as the fault taxonomy counts it. A status tonic made itself from a transport
/// failure carries that failure as its source: the deadline (`TimeoutExpired`) is `timeout`, a
/// failed connect `refused` (`timeout` when connecting ran out of time), anything else on the
/// wire (connection closed or reset, an HTTP/2 error) `reset`. A status the server sent has no
/// source: client errors count with `http_4xx`, `DEADLINE_EXCEEDED` as `timeout`, the rest
/// (`UNAVAILABLE`, `INTERNAL`, `UNKNOWN`, …) with `http_5xx`, as a REST server's 5xx.
fn outcome(status: &tonic::Status) -> RequestOutcome {
    use std::error::Error;
    use tonic::Code;
    if let Some(source) = status.source() {
        let mut cause: Option<&(dyn Error + 'static)> = Some(source);
        let mut connecting = false;
        while let Some(e) = cause {
            if e.downcast_ref::<tonic::TimeoutExpired>().is_some() {
                return RequestOutcome::Timeout;
            }
            connecting |= e.downcast_ref::<tonic::ConnectError>().is_some();
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::TimedOut => return RequestOutcome::Timeout,
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound => return RequestOutcome::Refused,
                    _ => {}
                }
            }
            cause = e.source();
        }
        return if connecting || status.message().contains("tcp connect error") { RequestOutcome::Refused } else { RequestOutcome::Reset };
    }
    match status.code() {
        Code::DeadlineExceeded => RequestOutcome::Timeout,
        Code::InvalidArgument | Code::NotFound | Code::AlreadyExists | Code::PermissionDenied | Code::FailedPrecondition | Code::OutOfRange | Code::Unimplemented | Code::Unauthenticated => RequestOutcome::Http4xx,
        _ => RequestOutcome::Http5xx,
    }
}

fn status_text(s: &tonic::Status) -> String {
    format!("gRPC {:?}: {}", s.code(), s.message())
}

/// Parse `oip+grpc://HOST:PORT/models/NAME[/versions/V]`; the port must be given.
pub fn parse_grpc_url(text: &str) -> Result<OipUrl, RemoteError> {
    let bad = |why: &str| RemoteError::Url { url: text.to_string(), reason: why.to_string() };
    let rest = text.strip_prefix("oip+grpc://").ok_or_else(|| bad("expected oip+grpc://HOST:PORT/models/NAME"))?;
    let authority = rest.split('/').next().unwrap_or("");
    let has_port = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').is_some_and(|(_, after)| after.starts_with(':')),
        None => authority.contains(':'),
    };
    if !has_port {
        return Err(bad("give the gRPC port, e.g. oip+grpc://HOST:8001/models/NAME (Triton's default gRPC port is 8001)"));
    }
    let url = OipUrl::parse(&format!("oip+http://{rest}")).map_err(|e| match e {
        RemoteError::Url { reason, .. } => bad(&reason),
        other => other,
    })?;
    if !url.prefix.is_empty() {
        return Err(bad("a gRPC endpoint has no path prefix: oip+grpc://HOST:PORT/models/NAME"));
    }
    Ok(url)
}

impl GrpcTarget {
    /// Connect, check server and model readiness, and read the model metadata.
    pub fn connect(text: &str, options: &RemoteOptions) -> Result<GrpcTarget, RemoteError> {
        let url = parse_grpc_url(text)?;
        let at = format!("grpc://{}", url.authority());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| RemoteError::Request {
            what: "the gRPC runtime",
            url: at.clone(),
            outcome: RequestOutcome::Refused,
            message: e.to_string(),
            hint: "the machine could not start an I/O runtime",
        })?;
        let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}", url.authority()))
            .map_err(|e| RemoteError::Url { url: text.into(), reason: e.to_string() })?
            .timeout(options.timeout)
            .connect_timeout(options.timeout);
        let channel = {
            let _guard = runtime.enter();
            endpoint.connect_lazy()
        };
        let mut t = GrpcTarget {
            url,
            runtime,
            client: GrpcInferenceServiceClient::new(channel).max_decoding_message_size(1 << 30),
            info: TargetInfo { name: text.to_string(), engine: String::new(), engine_version: String::new(), threads: 1, inputs: vec![], outputs: vec![] },
            wire_inputs: vec![],
            typed_inputs: options.transfer == Transfer::Json,
            metadata: Value::Null,
            counts: RequestCounts::default(),
            records: vec![],
            connected: false,
        };
        let fail = |what: &'static str, s: tonic::Status, hint: &'static str| RemoteError::Request { what, url: at.clone(), outcome: outcome(&s), message: status_text(&s), hint };
        let (name, version) = (t.url.model.clone(), t.url.version.clone().unwrap_or_default());
        let ready = t.call_recorded(Endpoint::ServerReady, |mut c| async move { c.server_ready(proto::ServerReadyRequest {}).await }).map_err(|s| fail("server readiness", s, "is the server's gRPC port open on this host (Triton: HTTP port + 1)?"))?;
        if !ready.ready {
            return Err(fail("server readiness", tonic::Status::unavailable("the server says it is not ready"), "wait for the server to load its models"));
        }
        // Server metadata is optional for aite, as over REST.
        let server = t.call_recorded(Endpoint::ServerMetadata, |mut c| async move { c.server_metadata(proto::ServerMetadataRequest {}).await }).ok();
        let (n, v) = (name.clone(), version.clone());
        let model_ready = t.call_recorded(Endpoint::ModelReady, move |mut c| async move { c.model_ready(proto::ModelReadyRequest { name: n, version: v }).await }).map_err(|s| fail("model readiness", s, "check the model name (and version) in the URL against the server's repository"))?;
        if !model_ready.ready {
            return Err(fail("model readiness", tonic::Status::unavailable("the model is not ready"), "check the model name (and version) in the URL against the server's repository"));
        }
        let meta = t.call_recorded(Endpoint::ModelMetadata, move |mut c| async move { c.model_metadata(proto::ModelMetadataRequest { name, version }).await }).map_err(|s| fail("model metadata", s, "the server must implement ModelMetadata"))?;
        let tensors = |list: &[proto::model_metadata_response::TensorMetadata]| -> Vec<Value> { list.iter().map(|x| json!({"name": x.name, "datatype": x.datatype, "shape": x.shape})).collect() };
        let metadata = json!({"name": meta.name, "versions": meta.versions, "platform": meta.platform, "inputs": tensors(&meta.inputs), "outputs": tensors(&meta.outputs)});
        let (inputs, wire_inputs, outputs) = model_tensors(&metadata, options.input_shape.as_deref(), &format!("{at}/{}", t.url.model))?;
        if t.typed_inputs {
            if let Some((s, w)) = inputs.iter().zip(&wire_inputs).find(|(_, w)| !w.json_capable()) {
                return Err(RemoteError::Metadata { url: at, reason: format!("input `{}` is {}, which has no typed contents field", s.name, w.name()), hint: "send raw contents (--transfer auto or binary)".into() });
            }
        }
        let (server_name, server_version) = server.map_or(("unknown".into(), "unknown".into()), |s| (s.name, s.version));
        t.info = TargetInfo {
            name: text.to_string(),
            engine: if t.typed_inputs { "oip-grpc-typed" } else { "oip-grpc-raw" }.into(),
            engine_version: format!("{server_name} {server_version}"),
            threads: 1,
            inputs,
            outputs,
        };
        t.wire_inputs = wire_inputs;
        t.metadata = metadata;
        Ok(t)
    }

    /// The model metadata the server answered, in the REST shape.
    pub fn metadata(&self) -> &Value {
        &self.metadata
    }

    /// Every request attempt so far, in order (`status` is HTTP's and stays empty; the gRPC
    /// status is in `detail`).
    pub fn records(&self) -> &[RequestRecord] {
        &self.records
    }

    /// Run one RPC to completion on the target's runtime.
    fn call<T, F, Fut>(&mut self, rpc: F) -> Result<T, tonic::Status>
    where
        F: FnOnce(GrpcInferenceServiceClient<tonic::transport::Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let client = self.client.clone();
        self.runtime.block_on(rpc(client)).map(|r| r.into_inner())
    }

    /// One RPC, recorded and counted as a request of the model (not retried: set-up).
    fn call_recorded<T, F, Fut>(&mut self, endpoint: Endpoint, rpc: F) -> Result<T, tonic::Status>
    where
        F: FnOnce(GrpcInferenceServiceClient<tonic::transport::Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let start = Instant::now();
        let reused = self.connected;
        let r = self.call(rpc);
        let result = r.as_ref().map(|_| ()).map_err(|s| (outcome(s), status_text(s)));
        self.note(endpoint, start, reused, false, result);
        r
    }

    /// Record one attempt and count it (statistics calls are recorded, not counted).
    fn note(&mut self, endpoint: Endpoint, start: Instant, reused: bool, retry: bool, result: Result<(), (RequestOutcome, String)>) {
        let outcome = result.as_ref().map_or_else(|e| e.0, |_| RequestOutcome::Ok);
        // The server answered (perhaps with an error status): the connection is up.
        self.connected = !matches!(outcome, RequestOutcome::Timeout | RequestOutcome::Refused | RequestOutcome::Reset | RequestOutcome::Truncated);
        if endpoint != Endpoint::Statistics {
            self.counts.add(outcome);
            if retry {
                self.counts.retried += 1;
            }
        }
        self.records.push(RequestRecord {
            seq: self.records.len() as u64,
            endpoint,
            outcome,
            status: None,
            latency_ns: start.elapsed().as_nanos() as u64,
            reused_connection: reused,
            retry,
            detail: result.err().map(|e| e.1),
        });
    }

    fn request(&self, inputs: &[Tensor]) -> Result<ModelInferRequest, TargetError> {
        let mismatch = |reason: String| TargetError::InputMismatch { target: self.info.name.clone(), reason };
        let mut req = ModelInferRequest { model_name: self.url.model.clone(), model_version: self.url.version.clone().unwrap_or_default(), ..Default::default() };
        for ((t, spec), &wire) in inputs.iter().zip(&self.info.inputs).zip(&self.wire_inputs) {
            let mut entry = model_infer_request::InferInputTensor { name: spec.name.clone(), datatype: wire.name().into(), shape: t.shape().iter().map(|&d| d as i64).collect(), ..Default::default() };
            if self.typed_inputs {
                entry.contents = Some(typed_contents(wire, t).map_err(mismatch)?);
            } else {
                let mut raw = Vec::new();
                codec::to_binary(wire, t, &mut raw).map_err(mismatch)?;
                req.raw_input_contents.push(raw);
            }
            req.inputs.push(entry);
        }
        Ok(req)
    }
}

/// A tensor as the typed `contents` field its datatype uses.
fn typed_contents(wire: WireType, t: &Tensor) -> Result<InferTensorContents, String> {
    let mut c = InferTensorContents::default();
    match (wire, t.data()) {
        (WireType::F32, TensorData::F32(v)) => c.fp32_contents = v.clone(),
        (WireType::Bool, TensorData::U8(v)) => c.bool_contents = v.iter().map(|&x| x != 0).collect(),
        (WireType::U8, TensorData::U8(v)) => c.uint_contents = v.iter().map(|&x| x as u32).collect(),
        (WireType::I8, TensorData::I8(v)) => c.int_contents = v.iter().map(|&x| x as i32).collect(),
        (WireType::I32, TensorData::I32(v)) => c.int_contents = v.clone(),
        (WireType::I64, TensorData::I64(v)) => c.int64_contents = v.clone(),
        _ => return Err(format!("the server's {} input cannot take a {} tensor as typed contents", wire.name(), t.dtype())),
    }
    Ok(c)
}

/// The outputs of an infer response: `raw_output_contents` (one entry per output, in order)
/// when present, else each output's typed `contents`.
pub fn decode_response(r: &ModelInferResponse) -> Result<Vec<(String, Tensor)>, String> {
    if !r.raw_output_contents.is_empty() && r.raw_output_contents.len() != r.outputs.len() {
        return Err(format!("{} outputs but {} raw_output_contents", r.outputs.len(), r.raw_output_contents.len()));
    }
    r.outputs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let wire = WireType::parse(&o.datatype).ok_or_else(|| format!("output `{}`: unknown datatype `{}`", o.name, o.datatype))?;
            let shape = o.shape.iter().map(|&d| usize::try_from(d).map_err(|_| format!("output `{}`: bad dimension {d}", o.name))).collect::<Result<Vec<_>, _>>()?;
            let tensor = match r.raw_output_contents.get(i) {
                Some(raw) => codec::from_binary(wire, shape, raw),
                None => {
                    let c = o.contents.as_ref().ok_or_else(|| format!("output `{}` has neither raw nor typed contents", o.name))?;
                    from_typed(wire, shape, c)
                }
            }
            .map_err(|e| format!("output `{}`: {e}", o.name))?;
            Ok((o.name.clone(), tensor))
        })
        .collect()
}

fn from_typed(wire: WireType, shape: Vec<usize>, c: &InferTensorContents) -> Result<Tensor, String> {
    if wire == WireType::F32 {
        let n = codec::elements(&shape)?;
        if c.fp32_contents.len() != n {
            return Err(format!("output of shape {shape:?} needs {n} values, the server sent {}", c.fp32_contents.len()));
        }
        return Tensor::f32(shape, c.fp32_contents.clone()).map_err(|e| e.to_string());
    }
    let values: Vec<Value> = match wire {
        WireType::F64 => c.fp64_contents.iter().map(|&x| json!(x)).collect(),
        WireType::Bool => c.bool_contents.iter().map(|&x| json!(x)).collect(),
        WireType::I8 | WireType::I16 | WireType::I32 => c.int_contents.iter().map(|&x| json!(x)).collect(),
        WireType::I64 => c.int64_contents.iter().map(|&x| json!(x)).collect(),
        WireType::U8 | WireType::U16 | WireType::U32 => c.uint_contents.iter().map(|&x| json!(x)).collect(),
        WireType::U64 => c.uint64_contents.iter().map(|&x| json!(x)).collect(),
        WireType::F16 => return Err("FP16 has no typed contents field; the server must send raw_output_contents".into()),
        WireType::Bytes | WireType::F32 => return Err("BYTES outputs are not numbers; aite cannot score them".into()),
    };
    codec::from_json(wire, shape, &Value::Array(values))
}

impl Target for GrpcTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }

    /// ModelInfer with the retry policy: a `reset` on the connection an earlier request used is
    /// sent once more (the channel connects afresh), both attempts recorded, the second flagged.
    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        check_inputs(&self.info, inputs)?;
        let mut retry = false;
        loop {
            let req = self.request(inputs)?;
            let (start, reused) = (Instant::now(), self.connected);
            let answer = self.call(|mut c| async move { c.model_infer(req).await });
            let decoded = match answer {
                Err(s) => Err((outcome(&s), status_text(&s))),
                Ok(r) => decode_response(&r).map_err(|m| (RequestOutcome::Malformed, m)),
            };
            let result = decoded.as_ref().map(|_| ()).map_err(|e| e.clone());
            self.note(Endpoint::Infer, start, reused, retry, result);
            match decoded {
                Ok(outputs) => return Ok(in_metadata_order(&self.info, outputs)),
                Err((RequestOutcome::Reset, _)) if reused && !retry => retry = true,
                Err((o, m)) => {
                    let at = format!("grpc://{}", self.url.authority());
                    return Err(TargetError::Inference { target: self.info.name.clone(), reason: format!("{o} from {at} ModelInfer: {m}") });
                }
            }
        }
    }

    fn request_counts(&self) -> Option<RequestCounts> {
        Some(self.counts)
    }

    /// Triton's `ModelStatistics` (recorded, not counted with the model's requests).
    fn server_stats(&mut self) -> Option<Result<ServerStats, String>> {
        let (name, version) = (self.url.model.clone(), self.url.version.clone().unwrap_or_default());
        let start = Instant::now();
        let reused = self.connected;
        let answer = self.call(move |mut c| async move { c.model_statistics(proto::ModelStatisticsRequest { name, version }).await });
        let at = format!("grpc://{} ModelStatistics", self.url.authority());
        let stats = match &answer {
            Err(s) if s.code() == tonic::Code::Unimplemented && std::error::Error::source(s).is_none() => Err(format!("{at}: the server does not implement Triton's ModelStatistics rpc (outside the OIP): {}", status_text(s))),
            Err(s) => Err(format!("{at}: {}: {}", outcome(s), status_text(s))),
            Ok(r) => triton_stats(r, &at),
        };
        let result = match (&answer, &stats) {
            (Err(s), _) => Err((outcome(s), status_text(s))),
            (Ok(_), Err(why)) => Err((RequestOutcome::Malformed, why.clone())),
            (Ok(_), Ok(_)) => Ok(()),
        };
        self.note(Endpoint::Statistics, start, reused, false, result);
        Some(stats)
    }
}

/// A `ModelStatisticsResponse` as [`ServerStats`], summed over the versions listed (as REST's
/// `/stats`); a phase the server left out is absent, never zero.
pub fn triton_stats(r: &proto::ModelStatisticsResponse, at: &str) -> Result<ServerStats, String> {
    if r.model_stats.is_empty() {
        return Err(format!("{at} answered no model_stats"));
    }
    let sum = |field: &str, f: &dyn Fn(&proto::ModelStatistics) -> Option<u64>| -> Result<Option<u64>, String> {
        let mut acc = 0u64;
        for m in &r.model_stats {
            let Some(n) = f(m) else { return Ok(None) };
            acc = acc.checked_add(n).ok_or_else(|| format!("{at}: `{field}` summed over the model's versions overflows 64 bits"))?;
        }
        Ok(Some(acc))
    };
    type Pick = fn(&proto::InferStatistics) -> Option<proto::StatisticDuration>;
    let phase = |name: &str, pick: Pick| -> Result<Option<PhaseTotal>, String> {
        let count = sum(&format!("inference_stats.{name}.count"), &|m| m.inference_stats.as_ref().and_then(pick).map(|d| d.count))?;
        let ns = sum(&format!("inference_stats.{name}.ns"), &|m| m.inference_stats.as_ref().and_then(pick).map(|d| d.ns))?;
        Ok(count.zip(ns).map(|(count, ns)| PhaseTotal { count, ns }))
    };
    Ok(ServerStats {
        source: format!("triton statistics extension, gRPC {at}"),
        inference_count: sum("inference_count", &|m| Some(m.inference_count))?,
        execution_count: sum("execution_count", &|m| Some(m.execution_count))?,
        success: phase("success", |s| s.success)?,
        fail: phase("fail", |s| s.fail)?,
        queue: phase("queue", |s| s.queue)?,
        compute_input: phase("compute_input", |s| s.compute_input)?,
        compute_infer: phase("compute_infer", |s| s.compute_infer)?,
        compute_output: phase("compute_output", |s| s.compute_output)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::model_infer_response::InferOutputTensor;

    fn output(name: &str, datatype: &str, shape: Vec<i64>, contents: Option<InferTensorContents>) -> InferOutputTensor {
        InferOutputTensor { name: name.into(), datatype: datatype.into(), shape, contents, ..Default::default() }
    }

    #[test]
    fn typed_and_raw_outputs_decode_to_the_same_values() {
        let typed = ModelInferResponse {
            outputs: vec![
                output("scores", "FP32", vec![1, 2], Some(InferTensorContents { fp32_contents: vec![1.0, -2.5], ..Default::default() })),
                output("label", "INT64", vec![1], Some(InferTensorContents { int64_contents: vec![-3], ..Default::default() })),
                output("mask", "UINT8", vec![2], Some(InferTensorContents { uint_contents: vec![0, 255], ..Default::default() })),
            ],
            ..Default::default()
        };
        let got = decode_response(&typed).unwrap();
        assert_eq!(got[0].1.to_f32_vec(), vec![1.0, -2.5]);
        assert_eq!(got[1].1.data(), &TensorData::I64(vec![-3]));
        assert_eq!(got[2].1.data(), &TensorData::U8(vec![0, 255]));
        // The same tensors raw: 1.0f32 = 0x3F800000, -2.5f32 = 0xC0200000, little-endian.
        let raw = ModelInferResponse {
            outputs: vec![output("scores", "FP32", vec![1, 2], None), output("label", "INT64", vec![1], None), output("mask", "UINT8", vec![2], None)],
            raw_output_contents: vec![vec![0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0], (-3i64).to_le_bytes().to_vec(), vec![0, 255]],
            ..Default::default()
        };
        assert_eq!(decode_response(&raw).unwrap(), got);
    }

    #[test]
    fn bad_responses_are_errors_not_panics() {
        let short = ModelInferResponse { outputs: vec![output("y", "FP32", vec![1, 3], Some(InferTensorContents { fp32_contents: vec![1.0], ..Default::default() }))], ..Default::default() };
        assert!(decode_response(&short).unwrap_err().contains("needs 3 values"));
        let none = ModelInferResponse { outputs: vec![output("y", "FP32", vec![1], None)], ..Default::default() };
        assert!(decode_response(&none).unwrap_err().contains("neither raw nor typed"));
        let miscount = ModelInferResponse { outputs: vec![output("y", "FP32", vec![1], None)], raw_output_contents: vec![vec![], vec![]], ..Default::default() };
        assert!(decode_response(&miscount).unwrap_err().contains("2 raw_output_contents"));
        let fp16 = ModelInferResponse { outputs: vec![output("y", "FP16", vec![1], Some(InferTensorContents::default()))], ..Default::default() };
        assert!(decode_response(&fp16).unwrap_err().contains("FP16 has no typed contents"));
    }

    #[test]
    fn hostile_output_shapes_are_errors_naming_the_output() {
        let huge = vec![1i64 << 62, 4];
        let typed = ModelInferResponse { outputs: vec![output("y", "FP32", huge.clone(), Some(InferTensorContents::default()))], ..Default::default() };
        let e = decode_response(&typed).unwrap_err();
        assert!(e.contains("output `y`") && e.contains("more elements than this machine can count"), "{e}");
        let typed = ModelInferResponse { outputs: vec![output("y", "INT64", huge.clone(), Some(InferTensorContents::default()))], ..Default::default() };
        assert!(decode_response(&typed).unwrap_err().contains("more elements"));
        let raw = ModelInferResponse { outputs: vec![output("y", "FP32", huge, None)], raw_output_contents: vec![vec![]], ..Default::default() };
        let e = decode_response(&raw).unwrap_err();
        assert!(e.contains("output `y`") && e.contains("more elements than this machine can count"), "{e}");
        // A 0-dim output is a scalar: one value, not none.
        let scalar = ModelInferResponse { outputs: vec![output("y", "FP32", vec![], Some(InferTensorContents::default()))], ..Default::default() };
        assert!(decode_response(&scalar).unwrap_err().contains("needs 1 values"));
        let raw = ModelInferResponse { outputs: vec![output("y", "FP32", vec![], None)], raw_output_contents: vec![vec![]], ..Default::default() };
        assert!(decode_response(&raw).unwrap_err().contains("needs 4 bytes"));
    }

    #[test]
    fn nothing_listening_is_a_refused_set_up_naming_the_endpoint() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("oip+grpc://127.0.0.1:{port}/models/m");
        let e = GrpcTarget::connect(&url, &RemoteOptions { timeout: std::time::Duration::from_secs(2), ..RemoteOptions::default() }).err().expect("nothing listens");
        assert!(matches!(e, RemoteError::Request { outcome: RequestOutcome::Refused, .. }), "{e}");
        assert!(e.to_string().contains(&format!("server readiness failed at grpc://127.0.0.1:{port}")), "{e}");
    }

    #[test]
    fn grpc_urls_need_a_port_and_no_prefix() {
        let u = parse_grpc_url("oip+grpc://127.0.0.1:8001/models/resnet8/versions/1").unwrap();
        assert_eq!((u.port, u.model.as_str(), u.version.as_deref()), (8001, "resnet8", Some("1")));
        assert!(parse_grpc_url("oip+grpc://[::1]:8001/models/m").is_ok());
        for (url, says) in [("oip+grpc://h/models/m", "give the gRPC port"), ("oip+grpc://[::1]/models/m", "give the gRPC port"), ("oip+grpc://h:1/proxy/models/m", "no path prefix"), ("oip+grpc://h:1/m", "no /models/NAME")] {
            let e = parse_grpc_url(url).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(url), "{url}: {e}");
        }
    }
}
