//! The gRPC target against an in-process fake OIP gRPC server (tonic, the generated server of
//! aite's own proto): answers against hand-computed values, and every fault (a delay past the
//! deadline, UNAVAILABLE / INTERNAL / INVALID_ARGUMENT statuses, a dropped connection, malformed
//! outputs, a dead server) recorded with the outcome kinds REST uses and REST's retry policy;
//! Triton's ModelStatistics diffed around a latency window with hand-computed means.
#![cfg(feature = "grpc")]

use aite_latency::{run, LatencyScenario, LatencySettings, ServerTime, Workload};
use aite_remote::proto::grpc_inference_service_server::{GrpcInferenceService, GrpcInferenceServiceServer};
use aite_remote::proto::{self, model_infer_response::InferOutputTensor, model_metadata_response::TensorMetadata};
use aite_remote::{Endpoint, GrpcTarget, RemoteOptions};
use aite_target::{Cancel, RequestOutcome, Target, Tensor};
use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tonic::{Code, Request, Response, Status};

/// What the fake does to one ModelInfer call.
#[derive(Debug, Clone)]
enum GrpcFault {
    Pass,
    /// Answer after this delay.
    Delay(Duration),
    /// Answer with this status (sent by the server, in the trailers).
    Status(Code, &'static str),
    /// Close every TCP connection under the call (no status, no answer).
    DropConnection,
    /// Answer 8 raw bytes for an FP32 [1,4] output (needs 16).
    MalformedOutputs,
}

/// Per-request server phases of the fake's statistics, ns: queue, compute input / infer /
/// output, and the whole request (success).
const PHASES: [u64; 5] = [1_000, 2_000, 30_000, 4_000, 40_000];
/// Requests the fake's statistics count before the test (another era of the server).
const BEFORE: u64 = 1000;

#[derive(Default)]
struct State {
    faults: Mutex<VecDeque<GrpcFault>>,
    answered: AtomicU64,
    /// Duplicates of the accepted connections' sockets, to close them under a call.
    conns: Mutex<Vec<OwnedFd>>,
    /// Answer ModelStatistics (else UNIMPLEMENTED, as KServe and MLServer).
    statistics: AtomicBool,
}

struct Fake(Arc<State>);

fn tensor(name: &str) -> TensorMetadata {
    TensorMetadata { name: name.into(), datatype: "FP32".into(), shape: vec![1, 4] }
}

fn duration(per_request: u64, n: u64) -> Option<proto::StatisticDuration> {
    Some(proto::StatisticDuration { count: n, ns: per_request * n })
}

#[tonic::async_trait]
impl GrpcInferenceService for Fake {
    async fn server_live(&self, _: Request<proto::ServerLiveRequest>) -> Result<Response<proto::ServerLiveResponse>, Status> {
        Ok(Response::new(proto::ServerLiveResponse { live: true }))
    }
    async fn server_ready(&self, _: Request<proto::ServerReadyRequest>) -> Result<Response<proto::ServerReadyResponse>, Status> {
        Ok(Response::new(proto::ServerReadyResponse { ready: true }))
    }
    async fn model_ready(&self, _: Request<proto::ModelReadyRequest>) -> Result<Response<proto::ModelReadyResponse>, Status> {
        Ok(Response::new(proto::ModelReadyResponse { ready: true }))
    }
    async fn server_metadata(&self, _: Request<proto::ServerMetadataRequest>) -> Result<Response<proto::ServerMetadataResponse>, Status> {
        Ok(Response::new(proto::ServerMetadataResponse { name: "fake-grpc".into(), version: "1".into(), extensions: vec![] }))
    }
    async fn model_metadata(&self, _: Request<proto::ModelMetadataRequest>) -> Result<Response<proto::ModelMetadataResponse>, Status> {
        Ok(Response::new(proto::ModelMetadataResponse { name: "echo".into(), versions: vec!["1".into()], platform: "fake".into(), inputs: vec![tensor("x")], outputs: vec![tensor("y")], ..Default::default() }))
    }
    /// y = 2·x as raw FP32, or the next fault.
    async fn model_infer(&self, request: Request<proto::ModelInferRequest>) -> Result<Response<proto::ModelInferResponse>, Status> {
        let fault = self.0.faults.lock().unwrap().pop_front().unwrap_or(GrpcFault::Pass);
        let output = InferOutputTensor { name: "y".into(), datatype: "FP32".into(), shape: vec![1, 4], ..Default::default() };
        let raw = match fault {
            GrpcFault::Pass => None,
            GrpcFault::Delay(d) => {
                tokio::time::sleep(d).await;
                None
            }
            GrpcFault::Status(code, message) => return Err(Status::new(code, message)),
            GrpcFault::DropConnection => {
                for fd in self.0.conns.lock().unwrap().drain(..) {
                    // SAFETY: shutdown(2) on a socket descriptor this test owns.
                    unsafe { libc::shutdown(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::SHUT_RDWR) };
                }
                tokio::time::sleep(Duration::from_secs(30)).await;
                return Err(Status::internal("unreachable: the connection was dropped"));
            }
            GrpcFault::MalformedOutputs => Some(vec![0u8; 8]),
        };
        let raw = raw.unwrap_or_else(|| {
            let x = &request.get_ref().raw_input_contents[0];
            x.chunks_exact(4).flat_map(|b| (2.0 * f32::from_le_bytes(b.try_into().unwrap())).to_le_bytes()).collect()
        });
        if raw.len() == 16 {
            self.0.answered.fetch_add(1, Ordering::SeqCst);
        }
        Ok(Response::new(proto::ModelInferResponse { model_name: "echo".into(), outputs: vec![output], raw_output_contents: vec![raw], ..Default::default() }))
    }
    async fn model_statistics(&self, _: Request<proto::ModelStatisticsRequest>) -> Result<Response<proto::ModelStatisticsResponse>, Status> {
        if !self.0.statistics.load(Ordering::SeqCst) {
            return Err(Status::unimplemented("unknown rpc"));
        }
        let n = BEFORE + self.0.answered.load(Ordering::SeqCst);
        let [queue, input, infer, output, success] = PHASES;
        let stats = proto::InferStatistics {
            success: duration(success, n),
            fail: duration(0, 0),
            queue: duration(queue, n),
            compute_input: duration(input, n),
            compute_infer: duration(infer, n),
            compute_output: duration(output, n),
        };
        let m = proto::ModelStatistics { name: "echo".into(), version: "1".into(), last_inference: 0, inference_count: n, execution_count: n, inference_stats: Some(stats) };
        Ok(Response::new(proto::ModelStatisticsResponse { model_stats: vec![m] }))
    }
}

/// The fake on 127.0.0.1, served by a current-thread runtime on its own thread.
struct FakeGrpc {
    state: Arc<State>,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeGrpc {
    fn start(statistics: bool) -> FakeGrpc {
        let state = Arc::new(State::default());
        state.statistics.store(statistics, Ordering::SeqCst);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                use tokio_stream::StreamExt;
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let conns = shared.clone();
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(move |s| {
                    if let Ok(s) = &s {
                        conns.conns.lock().unwrap().push(s.as_fd().try_clone_to_owned().unwrap());
                    }
                    s
                });
                let _ = tonic::transport::Server::builder()
                    .add_service(GrpcInferenceServiceServer::new(Fake(shared)))
                    .serve_with_incoming_shutdown(incoming, async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        FakeGrpc { state, port, stop: Some(stop), thread: Some(thread) }
    }

    fn url(&self) -> String {
        format!("oip+grpc://127.0.0.1:{}/models/echo", self.port)
    }

    fn inject(&self, faults: impl IntoIterator<Item = GrpcFault>) {
        self.state.faults.lock().unwrap().extend(faults);
    }

    /// Stop serving and close every connection: the port refuses from now on.
    fn kill(&mut self) {
        for fd in self.state.conns.lock().unwrap().drain(..) {
            // SAFETY: shutdown(2) on a socket descriptor this test owns.
            unsafe { libc::shutdown(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::SHUT_RDWR) };
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FakeGrpc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn connect(server: &FakeGrpc, timeout_ms: u64) -> GrpcTarget {
    GrpcTarget::connect(&server.url(), &RemoteOptions { timeout: Duration::from_millis(timeout_ms), ..RemoteOptions::default() }).unwrap_or_else(|e| panic!("{e}"))
}

fn x() -> Vec<Tensor> {
    vec![Tensor::f32(vec![1, 4], vec![0.5, -1.0, 3.0, 2.0]).unwrap()]
}

fn last_infer(t: &GrpcTarget) -> &aite_remote::RequestRecord {
    t.records().iter().rev().find(|r| r.endpoint == Endpoint::Infer).unwrap()
}

#[test]
fn answers_are_twice_the_input_and_every_attempt_is_recorded() {
    let server = FakeGrpc::start(false);
    let mut t = connect(&server, 5000);
    for _ in 0..3 {
        assert_eq!(t.infer(&x()).unwrap()[0].to_f32_vec(), vec![1.0, -2.0, 6.0, 4.0]);
    }
    let endpoints: Vec<Endpoint> = t.records().iter().map(|r| r.endpoint).collect();
    assert_eq!(endpoints, [Endpoint::ServerReady, Endpoint::ServerMetadata, Endpoint::ModelReady, Endpoint::ModelMetadata, Endpoint::Infer, Endpoint::Infer, Endpoint::Infer]);
    assert!(t.records().iter().all(|r| r.outcome == RequestOutcome::Ok && !r.retry));
    assert!(t.records()[1..].iter().all(|r| r.reused_connection), "one connection after the first call");
    let c = t.request_counts().unwrap();
    assert_eq!((c.ok, c.errors(), c.retried), (7, 0, 0));
}

#[test]
fn a_delay_past_the_deadline_is_a_timeout_not_retried() {
    let server = FakeGrpc::start(false);
    // The deadline also bounds connecting and the answered call after the timeout: 2 s, which a
    // loaded machine does not reach on loopback; the delay is three times past it.
    let mut t = connect(&server, 2000);
    server.inject([GrpcFault::Delay(Duration::from_millis(6000))]);
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("timeout from grpc://127.0.0.1") && e.contains("ModelInfer"), "{e}");
    assert_eq!((last_infer(&t).outcome, last_infer(&t).retry), (RequestOutcome::Timeout, false));
    assert_eq!(t.infer(&x()).unwrap()[0].to_f32_vec(), vec![1.0, -2.0, 6.0, 4.0]);
    let c = t.request_counts().unwrap();
    assert_eq!((c.timeout, c.retried), (1, 0));
}

#[test]
fn server_statuses_count_as_rest_error_statuses_with_the_servers_message() {
    let server = FakeGrpc::start(false);
    let mut t = connect(&server, 5000);
    server.inject([
        GrpcFault::Status(Code::Unavailable, "model echo is warming up"),
        GrpcFault::Status(Code::Internal, "onnxruntime: bad alloc"),
        GrpcFault::Status(Code::InvalidArgument, "unexpected shape for input 'x'"),
        GrpcFault::Status(Code::DeadlineExceeded, "deadline exceeded in the queue"),
    ]);
    for (kind, says) in [
        (RequestOutcome::Http5xx, "http_5xx from grpc://127.0.0.1"),
        (RequestOutcome::Http5xx, "gRPC Internal: onnxruntime: bad alloc"),
        (RequestOutcome::Http4xx, "gRPC InvalidArgument: unexpected shape for input 'x'"),
        (RequestOutcome::Timeout, "deadline exceeded in the queue"),
    ] {
        let e = t.infer(&x()).unwrap_err().to_string();
        assert!(e.contains(says), "{says}: {e}");
        assert_eq!((last_infer(&t).outcome, last_infer(&t).retry), (kind, false), "{e}");
    }
    assert!(t.records().iter().any(|r| r.detail.as_deref() == Some("gRPC Unavailable: model echo is warming up")));
    let c = t.request_counts().unwrap();
    assert_eq!((c.http_5xx, c.http_4xx, c.timeout, c.retried), (2, 1, 1, 0), "a server's status is never retried");
}

#[test]
fn a_dropped_connection_is_a_reset_retried_once_flagged() {
    let server = FakeGrpc::start(false);
    let mut t = connect(&server, 5000);
    t.infer(&x()).unwrap();
    // Dropped under the call on the kept connection: one retry, on a new connection, answers.
    server.inject([GrpcFault::DropConnection]);
    assert_eq!(t.infer(&x()).unwrap()[0].to_f32_vec(), vec![1.0, -2.0, 6.0, 4.0]);
    let infers: Vec<_> = t.records().iter().filter(|r| r.endpoint == Endpoint::Infer).collect();
    assert_eq!(infers.len(), 3);
    assert_eq!((infers[1].outcome, infers[1].reused_connection, infers[1].retry), (RequestOutcome::Reset, true, false), "{:?}", infers[1]);
    assert_eq!((infers[2].outcome, infers[2].retry), (RequestOutcome::Ok, true));
    // Dropped twice: the retry meets a reset too, and that is the answer (no third attempt).
    server.inject([GrpcFault::DropConnection, GrpcFault::DropConnection]);
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("reset from grpc://127.0.0.1"), "{e}");
    let infers: Vec<_> = t.records().iter().filter(|r| r.endpoint == Endpoint::Infer).collect();
    assert_eq!(infers.len(), 5);
    assert_eq!((infers[3].outcome, infers[3].retry, infers[4].outcome, infers[4].retry), (RequestOutcome::Reset, false, RequestOutcome::Reset, true));
    let c = t.request_counts().unwrap();
    assert_eq!((c.ok, c.reset, c.retried), (4 + 2, 3, 2));
}

#[test]
fn malformed_outputs_and_a_dead_server_are_named() {
    let mut server = FakeGrpc::start(false);
    let mut t = connect(&server, 2000);
    server.inject([GrpcFault::MalformedOutputs]);
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("malformed from grpc://127.0.0.1") && e.contains("output `y`") && e.contains("needs 16 bytes"), "{e}");
    server.kill();
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("ModelInfer"), "{e}");
    let c = t.request_counts().unwrap();
    assert_eq!(c.malformed, 1);
    // The kept connection closed with the server (reset, retried), then nothing listens: refused.
    assert!(c.refused >= 1 && c.refused + c.reset == 2, "{c:?}");
    assert_eq!(last_infer(&t).outcome, RequestOutcome::Refused, "{:?}", t.records());
}

#[test]
fn model_statistics_give_server_time_with_the_hand_computed_means() {
    let server = FakeGrpc::start(true);
    let mut t = connect(&server, 5000);
    let settings = LatencySettings { min_queries: 50, min_duration_ms: 0, warmup_queries: 3, ..LatencySettings::default() };
    let work = Workload::Tensors(vec![x()]);
    let r = run(&mut t, &work, &LatencyScenario::SingleStream, &settings, &Cancel::new(), &mut |_| {}).unwrap();
    let Some(ServerTime::Measured(s)) = &r.server else { panic!("{:?}", r.server) };
    assert_eq!((s.inference_count, s.execution_count), (Some(50), Some(50)), "the window's requests only (warm-up and the 1000 before excluded)");
    let mean = |p: Option<aite_target::PhaseTotal>| p.and_then(|p| p.mean_ns());
    assert_eq!([mean(s.queue), mean(s.compute_input), mean(s.compute_infer), mean(s.compute_output), mean(s.success)], PHASES.map(|p| Some(p as f64)));
    assert!(s.source.contains("ModelStatistics"), "{}", s.source);
    // Statistics calls are recorded, not counted with the model's requests.
    assert_eq!(r.requests.unwrap().ok, 50);
    assert!(t.records().iter().any(|rec| rec.endpoint == Endpoint::Statistics));

    // A server without the rpc (KServe, MLServer): not exposed, saying why; never zeros.
    let bare = FakeGrpc::start(false);
    let mut t = connect(&bare, 5000);
    let r = run(&mut t, &work, &LatencyScenario::SingleStream, &settings, &Cancel::new(), &mut |_| {}).unwrap();
    let Some(ServerTime::NotExposed { why }) = &r.server else { panic!("{:?}", r.server) };
    assert!(why.contains("does not implement Triton's ModelStatistics"), "{why}");
}
