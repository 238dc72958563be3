//! The OIP REST target against the in-process fake server: tensors in both encodings
//! (hand-computed answers), keep-alive, and every fault kind recorded as it happened.

mod fake_server;

use aite_remote::{Endpoint, OipTarget, RemoteOptions, Transfer};
use aite_target::{RequestOutcome, Target, TargetError, Tensor, TensorData};
use fake_server::{FakeConfig, FakeServer, Fault};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn x() -> Vec<Tensor> {
    vec![Tensor::f32(vec![1, 4], vec![0.5, -1.0, 3.0, 2.0]).unwrap()]
}

fn connect(server: &FakeServer, timeout_ms: u64) -> OipTarget {
    OipTarget::connect(&server.url(), &RemoteOptions { timeout: Duration::from_millis(timeout_ms), ..RemoteOptions::default() }).unwrap()
}

/// y = 2·x = [1, -2, 6, 4], argmax = 2, in the metadata's output order (y, argmax).
fn assert_echo(out: &[Tensor]) {
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].data(), &TensorData::F32(vec![1.0, -2.0, 6.0, 4.0]));
    assert_eq!(out[0].shape(), &[1, 4]);
    assert_eq!(out[1].data(), &TensorData::I64(vec![2]));
}

fn last_infer(t: &OipTarget) -> &aite_remote::RequestRecord {
    t.records().iter().rev().find(|r| r.endpoint == Endpoint::Infer).unwrap()
}

#[test]
fn binary_when_advertised_json_otherwise_same_answer() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    assert!(t.binary());
    assert_eq!(t.info().engine, "oip-rest-binary");
    assert_eq!(t.info().engine_version, "fake 0.1");
    assert_eq!(t.info().inputs[0].shape_string(), "[1,4]");
    assert_echo(&t.infer(&x()).unwrap());
    assert_eq!(server.seen.binary_requests.load(Ordering::SeqCst), 1, "the request went out as binary tensors");

    let plain = FakeServer::start(FakeConfig { binary_extension: false, ..FakeConfig::default() });
    let mut t = connect(&plain, 5000);
    assert!(!t.binary());
    assert_echo(&t.infer(&x()).unwrap());
    assert_eq!(plain.seen.binary_requests.load(Ordering::SeqCst), 0);

    // Forced JSON against a binary-capable server.
    let mut t = OipTarget::connect(&server.url(), &RemoteOptions { transfer: Transfer::Json, ..RemoteOptions::default() }).unwrap();
    assert_echo(&t.infer(&x()).unwrap());
    assert_eq!(server.seen.binary_requests.load(Ordering::SeqCst), 1);
}

#[test]
fn one_kept_alive_connection_for_a_run() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    for _ in 0..20 {
        assert_echo(&t.infer(&x()).unwrap());
    }
    assert_eq!(t.connections_opened(), 1);
    assert_eq!(server.seen.connections.load(Ordering::SeqCst), 1);
    let c = t.request_counts().unwrap();
    // 4 set-up requests (ready, /v2, model ready, metadata) and 20 inferences.
    assert_eq!((c.ok, c.errors(), c.retried), (24, 0, 0));
    assert!(t.records().iter().skip(1).all(|r| r.reused_connection));
}

#[test]
fn variable_dimensions_take_the_input_shape() {
    let server = FakeServer::start(FakeConfig { input_shape: vec![-1, 4], ..FakeConfig::default() });
    let t = connect(&server, 5000);
    assert_eq!(t.info().inputs[0].shape_string(), "[-1,4]");
    let mut t = OipTarget::connect(&server.url(), &RemoteOptions { input_shape: Some(vec![2, 4]), ..RemoteOptions::default() }).unwrap();
    assert_eq!(t.info().inputs[0].shape_string(), "[2,4]");
    let out = t.infer(&[Tensor::f32(vec![2, 4], vec![1.0; 8]).unwrap()]).unwrap();
    assert_eq!(out[0].shape(), &[2, 4]);
    let e = OipTarget::connect(&server.url(), &RemoteOptions { input_shape: Some(vec![2, 5]), ..RemoteOptions::default() }).err().unwrap().to_string();
    assert!(e.contains("--input-shape [2, 5] does not fit input `x` of shape [-1,4]"), "{e}");

    // Metadata that gives the input no shape at all (`"shape": []`): aite cannot make an input
    // for it, so the set-up asks for --input-shape, and with it the model runs.
    let shapeless = FakeServer::start(FakeConfig { input_shape: vec![], ..FakeConfig::default() });
    let e = OipTarget::connect(&shapeless.url(), &RemoteOptions::default()).err().expect("a shapeless input needs --input-shape").to_string();
    assert!(e.contains(&format!("http://{}/v2/models/echo", shapeless.addr)) && e.contains("input `x` has no shape") && e.contains("pass its full shape with --input-shape"), "{e}");
    let mut t = OipTarget::connect(&shapeless.url(), &RemoteOptions { input_shape: Some(vec![1, 4]), ..RemoteOptions::default() }).unwrap();
    assert_eq!(t.info().inputs[0].shape_string(), "[1,4]");
    assert_echo(&t.infer(&x()).unwrap());
    let e = t.infer(&[Tensor::f32(vec![1, 5], vec![0.0; 5]).unwrap()]).unwrap_err().to_string();
    assert!(e.contains("input `x` has shape [1,4]"), "the given shape is checked like a declared one: {e}");
    assert_eq!(shapeless.seen.infer_requests.load(Ordering::SeqCst), 1);
}

#[test]
fn inputs_checked_before_anything_is_sent() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    let wrong = [Tensor::f32(vec![1, 5], vec![0.0; 5]).unwrap()];
    let e = t.infer(&wrong).unwrap_err();
    assert!(matches!(e, TargetError::InputMismatch { .. }) && e.to_string().contains("input `x` has shape [1,4]"), "{e}");
    let e = t.infer(&[Tensor::new(vec![1, 4], TensorData::U8(vec![0; 4])).unwrap()]).unwrap_err().to_string();
    assert!(e.contains("input `x` is f32, a u8 tensor was given"), "{e}");
    assert_eq!(server.seen.infer_requests.load(Ordering::SeqCst), 0);
}

#[test]
fn unknown_model_names_the_url_and_the_server_message() {
    let server = FakeServer::start(FakeConfig::default());
    let url = format!("oip+http://{}/models/nope", server.addr);
    let e = OipTarget::connect(&url, &RemoteOptions::default()).err().unwrap().to_string();
    assert!(e.contains(&format!("http://{}/v2/models/nope/ready", server.addr)) && e.contains("http_4xx") && e.contains("Request for unknown model"), "{e}");
}

#[test]
fn refused_when_nothing_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = OipTarget::connect(&format!("oip+http://127.0.0.1:{port}/models/m"), &RemoteOptions::default()).err().unwrap().to_string();
    assert!(e.contains("server readiness failed") && e.contains("refused"), "{e}");
}

#[test]
fn timeout_is_recorded_and_not_retried() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    t.set_timeout(Duration::from_millis(300));
    server.inject([Fault::Delay(Duration::from_millis(1500))]);
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("timeout from") && e.contains("/v2/models/echo/infer"), "{e}");
    assert_eq!(last_infer(&t).outcome, RequestOutcome::Timeout);
    t.set_timeout(Duration::from_secs(5));
    // The next request opens a fresh connection and succeeds.
    assert_echo(&t.infer(&x()).unwrap());
    let c = t.request_counts().unwrap();
    assert_eq!((c.timeout, c.retried, c.errors()), (1, 0, 1));
    assert_eq!(t.connections_opened(), 2);
}

#[test]
fn close_mid_response_is_truncated() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    server.inject([Fault::CloseMidResponse]);
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("truncated from"), "{e}");
    assert_echo(&t.infer(&x()).unwrap());
    let c = t.request_counts().unwrap();
    assert_eq!((c.truncated, c.retried, c.errors()), (1, 0, 1));
}

#[test]
fn http_500_carries_the_server_message() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    server.inject([Fault::Status500]);
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("http_5xx") && e.contains("HTTP 500: injected failure"), "{e}");
    assert_eq!(last_infer(&t).status, Some(500));
    assert_echo(&t.infer(&x()).unwrap());
    let c = t.request_counts().unwrap();
    assert_eq!((c.http_5xx, c.retried), (1, 0));
}

#[test]
fn malformed_body_is_malformed() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    server.inject([Fault::MalformedJson]);
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("malformed from") && e.contains("not JSON"), "{e}");
    assert_eq!(t.request_counts().unwrap().malformed, 1);
}

#[test]
fn reset_of_a_reused_connection_is_retried_once_and_flagged() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    // The server closes the kept-alive connection after answering, without saying so.
    server.inject([Fault::CloseAfterAnswer]);
    assert_echo(&t.infer(&x()).unwrap());
    assert_echo(&t.infer(&x()).unwrap());
    let infers: Vec<_> = t.records().iter().filter(|r| r.endpoint == Endpoint::Infer).collect();
    assert_eq!(infers.len(), 3, "{infers:#?}");
    assert_eq!((infers[1].outcome, infers[1].reused_connection, infers[1].retry), (RequestOutcome::Reset, true, false));
    assert_eq!((infers[2].outcome, infers[2].reused_connection, infers[2].retry), (RequestOutcome::Ok, false, true));
    let c = t.request_counts().unwrap();
    assert_eq!((c.reset, c.retried), (1, 1));
}

#[test]
fn a_reset_of_the_retry_is_not_retried_again() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    server.inject([Fault::CloseWithoutAnswer, Fault::CloseWithoutAnswer]);
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("reset from"), "{e}");
    let infers: Vec<_> = t.records().iter().filter(|r| r.endpoint == Endpoint::Infer).collect();
    assert_eq!(infers.len(), 2);
    assert!(infers[0].reused_connection && !infers[0].retry);
    assert!(!infers[1].reused_connection && infers[1].retry && infers[1].outcome == RequestOutcome::Reset);
    assert_eq!(t.request_counts().unwrap().retried, 1);
}

#[test]
fn refused_after_the_server_goes_away() {
    let server = FakeServer::start(FakeConfig::default());
    let mut t = connect(&server, 5000);
    server.refuse_after(2);
    assert_echo(&t.infer(&x()).unwrap());
    assert_echo(&t.infer(&x()).unwrap());
    let e = t.infer(&x()).unwrap_err().to_string();
    assert!(e.contains("refused"), "{e}");
    let c = t.request_counts().unwrap();
    // The kept-alive connection was closed (reset, reused: retried once), then nothing listened.
    assert_eq!((c.reset, c.refused, c.retried), (1, 1, 1));
    assert_eq!(last_infer(&t).outcome, RequestOutcome::Refused);
}
