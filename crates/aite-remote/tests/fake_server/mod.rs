//! An in-process fake Open Inference Protocol server for tests: one model with one FP32
//! input, by default `echo` (input `x`, outputs `y` = 2·x FP32 of the same shape and
//! `argmax` INT64 [1]) or any function given as a [`FakeModel`]; JSON and binary
//! tensors; faults injected on demand for the next infer requests; optionally Triton's
//! statistics extension, honest or not ([`FakeStats`]).
//! Plain std: a `TcpListener` thread, one thread per connection.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server does to one infer request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer normally (a placeholder to aim a later fault at the Nth request).
    Pass,
    /// Answer after this delay.
    Delay(Duration),
    /// Send the status line, headers and half the body, then close.
    CloseMidResponse,
    /// Close the connection without answering.
    CloseWithoutAnswer,
    /// Answer normally, then close the connection without saying so (no `Connection: close`).
    CloseAfterAnswer,
    /// 500 with a JSON error body.
    Status500,
    /// 200 with a body that is not JSON.
    MalformedJson,
}

/// What `GET /v2/models/NAME/stats` answers (Triton's layout). Counters start at 1000
/// (traffic before the test), then count the infer requests answered 200; `at` is the
/// number of answered requests from which the server stops being honest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FakeStats {
    /// The true counts.
    Honest,
    /// `extra` more requests than were answered (another client).
    OtherClient { at: usize, extra: u64 },
    /// Counters restart from 0 (a server restart).
    Restart { at: usize },
    /// No `inference_stats` at all before `at` (no phase yet).
    PhasesLater { at: usize },
}

/// An output tensor of the model: name, shape and values.
pub enum FakeOutput {
    F32(&'static str, Vec<u64>, Vec<f32>),
    I64(&'static str, Vec<u64>, Vec<i64>),
}

/// Input shape and values in, outputs (in the order the server answers them) out.
pub type ModelFn = Arc<dyn Fn(&[u64], &[f32]) -> Result<Vec<FakeOutput>, String> + Send + Sync>;

/// The one model the server serves.
#[derive(Clone)]
pub struct FakeModel {
    pub name: String,
    /// The FP32 input: name and declared shape (-1 = variable).
    pub input: (String, Vec<i64>),
    /// Declared outputs: name, datatype, shape (the metadata's order).
    pub outputs: Vec<(String, &'static str, Vec<i64>)>,
    pub run: ModelFn,
}

/// The model and what the server advertises.
#[derive(Clone)]
pub struct FakeConfig {
    pub input_shape: Vec<i64>,
    pub binary_extension: bool,
    /// Replaces the echo model.
    pub model: Option<FakeModel>,
    /// Advertise the statistics extension and answer `/stats` so.
    pub stats: Option<FakeStats>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig { input_shape: vec![1, 4], binary_extension: true, model: None, stats: None }
    }
}

fn echo(input_shape: &[i64]) -> FakeModel {
    FakeModel {
        name: "echo".into(),
        input: ("x".into(), input_shape.to_vec()),
        outputs: vec![("y".into(), "FP32", input_shape.to_vec()), ("argmax".into(), "INT64", vec![1])],
        run: Arc::new(|shape, x| {
            let y: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
            let argmax = x.iter().enumerate().fold((0usize, f32::NEG_INFINITY), |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) }).0 as i64;
            // argmax first: the client must order outputs by the metadata.
            Ok(vec![FakeOutput::I64("argmax", vec![1], vec![argmax]), FakeOutput::F32("y", shape.to_vec(), y)])
        }),
    }
}

#[derive(Default)]
struct State {
    faults: VecDeque<Fault>,
    /// Refuse connections once this many infer requests have been answered.
    refuse_after: Option<usize>,
}

/// Counters a test reads back.
#[derive(Default)]
pub struct Seen {
    pub infer_requests: AtomicUsize,
    pub binary_requests: AtomicUsize,
    pub connections: AtomicUsize,
    /// Infer requests answered 200, counted before the answer is written (a client that read it
    /// finds it counted); `/stats` requests are in `stats_requests`, not here.
    pub answered: AtomicUsize,
    pub stats_requests: AtomicUsize,
    /// The listener is gone (refusing).
    pub closed: Arc<AtomicBool>,
}

pub struct FakeServer {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    state: Arc<Mutex<State>>,
    /// The running listener's stop flag (a restart makes a new one).
    stop: Arc<AtomicBool>,
    config: Arc<FakeConfig>,
    model: Arc<FakeModel>,
    /// Every accepted connection, so [`FakeServer::kill`] can close the kept-alive ones.
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl FakeServer {
    pub fn start(config: FakeConfig) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let model = Arc::new(config.model.clone().unwrap_or_else(|| echo(&config.input_shape)));
        let server = FakeServer {
            addr,
            seen: Arc::new(Seen::default()),
            state: Arc::new(Mutex::new(State::default())),
            stop: Arc::new(AtomicBool::new(false)),
            config: Arc::new(config),
            model,
            conns: Arc::new(Mutex::new(Vec::new())),
        };
        server.listen(listener);
        server
    }

    fn listen(&self, listener: TcpListener) {
        let (seen2, state2, stop2, conns) = (self.seen.clone(), self.state.clone(), self.stop.clone(), self.conns.clone());
        let (config2, model2, addr) = (self.config.clone(), self.model.clone(), self.addr);
        seen2.closed.store(false, Ordering::SeqCst);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break; // drops the listener below: later connects are refused
                }
                let Ok(conn) = conn else { continue };
                seen2.connections.fetch_add(1, Ordering::SeqCst);
                if let Ok(c) = conn.try_clone() {
                    conns.lock().unwrap().push(c);
                }
                let (seen, state, stop, config, model) = (seen2.clone(), state2.clone(), stop2.clone(), config2.clone(), model2.clone());
                std::thread::spawn(move || serve(conn, addr, &config, &model, &seen, &state, &stop));
            }
            drop(listener);
            seen2.closed.store(true, Ordering::SeqCst);
        });
    }

    /// The server dies: the listener goes (connects are refused) and every open
    /// connection is closed. Returns once nothing listens.
    pub fn kill(&self) {
        if !self.stop.swap(true, Ordering::SeqCst) {
            let _ = TcpStream::connect(self.addr); // wakes the accept loop
        }
        while !self.seen.closed.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// The server comes back on the same address after [`FakeServer::kill`] (or a
    /// [`FakeServer::refuse_after`] that took effect, which it clears).
    pub fn restart(&mut self) {
        self.state.lock().unwrap().refuse_after = None;
        let listener = (0..200)
            .find_map(|_| TcpListener::bind(self.addr).map_err(|_| std::thread::sleep(Duration::from_millis(10))).ok())
            .expect("rebind the fake server's address");
        self.stop = Arc::new(AtomicBool::new(false));
        self.listen(listener);
    }

    /// The URL of the echo model.
    pub fn url(&self) -> String {
        self.url_of("echo")
    }

    pub fn url_of(&self, model: &str) -> String {
        format!("oip+http://{}/models/{model}", self.addr)
    }

    /// Apply these faults, in order, to the next infer requests.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// Stop listening (and close kept-alive connections) after `n` more answered infer requests.
    pub fn refuse_after(&self, n: usize) {
        let done = self.seen.infer_requests.load(Ordering::SeqCst);
        self.state.lock().unwrap().refuse_after = Some(done + n);
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn respond(w: &mut TcpStream, status: u16, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    w.write_all(&out)
}

fn serve(conn: TcpStream, addr: SocketAddr, config: &FakeConfig, model: &FakeModel, seen: &Seen, state: &Mutex<State>, stop: &AtomicBool) {
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        if stop.load(Ordering::SeqCst) {
            let _ = w.shutdown(Shutdown::Both);
            return;
        }
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end().to_string();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let json_ok = |w: &mut TcpStream, v: Value| respond(w, 200, &[("Content-Type", "application/json".into())], v.to_string().as_bytes());
        let base = format!("/v2/models/{}", model.name);
        let route = if path == base {
            "metadata"
        } else if path == format!("{base}/ready") {
            "ready"
        } else if path == format!("{base}/infer") {
            "infer"
        } else if path == format!("{base}/stats") {
            "stats"
        } else {
            path.as_str()
        };
        let result = match (method.as_str(), route) {
            ("GET", "/v2/health/ready" | "/v2/health/live" | "ready") => respond(&mut w, 200, &[], b""),
            ("GET", "/v2") => {
                let mut ext: Vec<&str> = if config.binary_extension { vec!["binary_tensor_data"] } else { vec![] };
                if config.stats.is_some() {
                    ext.push("statistics");
                }
                json_ok(&mut w, json!({"name": "fake", "version": "0.1", "extensions": ext}))
            }
            ("GET", "stats") if config.stats.is_some() => json_ok(&mut w, stats(config.stats.unwrap(), &model.name, seen)),
            ("GET", "metadata") => json_ok(
                &mut w,
                json!({"name": model.name, "platform": "fake", "inputs": [{"name": model.input.0, "datatype": "FP32", "shape": model.input.1}],
                       "outputs": model.outputs.iter().map(|(n, d, s)| json!({"name": n, "datatype": d, "shape": s})).collect::<Vec<_>>()}),
            ),
            ("POST", "infer") => {
                let fault = state.lock().unwrap().faults.pop_front();
                let answer = infer(model, &body, header("inference-header-content-length"), seen);
                match (fault, answer) {
                    (Some(Fault::CloseWithoutAnswer), _) => {
                        let _ = w.shutdown(Shutdown::Both);
                        return;
                    }
                    (Some(Fault::Status500), _) => respond(&mut w, 500, &[], br#"{"error":"injected failure"}"#),
                    (Some(Fault::MalformedJson), _) => respond(&mut w, 200, &[("Content-Type", "application/json".into())], b"{\"outputs\": [tru"),
                    (Some(Fault::CloseMidResponse), Ok((h, b))) => {
                        let mut head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", b.len());
                        for (k, v) in &h {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str("\r\n");
                        let _ = w.write_all(head.as_bytes()).and_then(|_| w.write_all(&b[..b.len() / 2]));
                        let _ = w.shutdown(Shutdown::Both);
                        return;
                    }
                    (fault, Ok((h, b))) => {
                        if let Some(Fault::Delay(d)) = fault {
                            std::thread::sleep(d);
                        }
                        seen.answered.fetch_add(1, Ordering::SeqCst);
                        let res = respond(&mut w, 200, &h.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>(), &b);
                        let done = seen.infer_requests.load(Ordering::SeqCst);
                        if state.lock().unwrap().refuse_after.is_some_and(|n| done >= n) && !stop.swap(true, Ordering::SeqCst) {
                            let _ = TcpStream::connect(addr); // wakes the accept loop, which then drops the listener
                            while !seen.closed.load(Ordering::SeqCst) {
                                std::thread::sleep(Duration::from_millis(1));
                            }
                        }
                        if fault == Some(Fault::CloseAfterAnswer) {
                            let _ = w.shutdown(Shutdown::Both);
                            return;
                        }
                        res
                    }
                    (_, Err(msg)) => respond(&mut w, 400, &[], json!({"error": msg}).to_string().as_bytes()),
                }
            }
            ("GET", p) if p.starts_with("/v2/models/") => respond(&mut w, 404, &[], br#"{"error":"Request for unknown model"}"#),
            _ => respond(&mut w, 404, &[], br#"{"error":"not found"}"#),
        };
        if result.is_err() {
            return;
        }
    }
}

/// Triton's `/stats` body for `mode`: each phase takes 1 µs per request (queue 0.1, compute 0.2/0.5/0.1).
fn stats(mode: FakeStats, model: &str, seen: &Seen) -> Value {
    seen.stats_requests.fetch_add(1, Ordering::SeqCst);
    let answered = seen.answered.load(Ordering::SeqCst);
    let n = match mode {
        FakeStats::OtherClient { at, extra } if answered >= at => 1000 + answered as u64 + extra,
        FakeStats::Restart { at } if answered >= at => (answered - at) as u64,
        _ => 1000 + answered as u64,
    };
    let phase = |ns_each: u64| json!({"count": n, "ns": n * ns_each});
    let mut m = json!({"name": model, "version": "1", "inference_count": n, "execution_count": n});
    if !matches!(mode, FakeStats::PhasesLater { at } if answered < at) {
        m["inference_stats"] = json!({"success": phase(1000), "fail": {"count": 0, "ns": 0}, "queue": phase(100), "compute_input": phase(200), "compute_infer": phase(500), "compute_output": phase(100)});
    }
    json!({"model_stats": [m]})
}

type Answer = (Vec<(&'static str, String)>, Vec<u8>);

/// The model's answer in the encoding the request asked for.
fn infer(model: &FakeModel, body: &[u8], header_len: Option<String>, seen: &Seen) -> Result<Answer, String> {
    seen.infer_requests.fetch_add(1, Ordering::SeqCst);
    let (head, raw) = match header_len {
        Some(n) => {
            seen.binary_requests.fetch_add(1, Ordering::SeqCst);
            body.split_at(n.parse::<usize>().map_err(|e| e.to_string())?.min(body.len()))
        }
        None => (body, &[][..]),
    };
    let req: Value = serde_json::from_slice(head).map_err(|e| format!("bad JSON: {e}"))?;
    let input = &req["inputs"][0];
    if input["name"] != model.input.0.as_str() || input["datatype"] != "FP32" {
        return Err(format!("expected input {} FP32, got {input}", model.input.0));
    }
    let shape: Vec<u64> = input["shape"].as_array().ok_or("no shape")?.iter().filter_map(|d| d.as_u64()).collect();
    let x: Vec<f32> = match input["parameters"]["binary_data_size"].as_u64() {
        Some(n) if n as usize == raw.len() => raw.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect(),
        Some(n) => return Err(format!("binary_data_size {n} but {} bytes follow", raw.len())),
        None => input["data"].as_array().ok_or("no data")?.iter().map(|v| v.as_f64().unwrap_or(f64::NAN) as f32).collect(),
    };
    if x.len() as u64 != shape.iter().product::<u64>() {
        return Err(format!("shape {shape:?} does not match {} values", x.len()));
    }
    let outputs = (model.run)(&shape, &x)?;
    if req["parameters"]["binary_data_output"] == true {
        let mut raw = Vec::new();
        let mut heads = Vec::new();
        for o in &outputs {
            let before = raw.len();
            let (name, dt, shape) = match o {
                FakeOutput::F32(n, s, v) => {
                    v.iter().for_each(|x| raw.extend_from_slice(&x.to_le_bytes()));
                    (n, "FP32", s)
                }
                FakeOutput::I64(n, s, v) => {
                    v.iter().for_each(|x| raw.extend_from_slice(&x.to_le_bytes()));
                    (n, "INT64", s)
                }
            };
            heads.push(json!({"name": name, "datatype": dt, "shape": shape, "parameters": {"binary_data_size": raw.len() - before}}));
        }
        let head = json!({"model_name": model.name, "outputs": heads}).to_string();
        let mut body = head.clone().into_bytes();
        body.extend_from_slice(&raw);
        Ok((vec![("Content-Type", "application/octet-stream".into()), ("Inference-Header-Content-Length", head.len().to_string())], body))
    } else {
        let outs: Vec<Value> = outputs
            .iter()
            .map(|o| match o {
                // Nested rows for [1, n] outputs, as servers may send them.
                FakeOutput::F32(n, s, v) if s.len() == 2 && s[0] == 1 => json!({"name": n, "datatype": "FP32", "shape": s, "data": [v]}),
                FakeOutput::F32(n, s, v) => json!({"name": n, "datatype": "FP32", "shape": s, "data": v}),
                FakeOutput::I64(n, s, v) => json!({"name": n, "datatype": "INT64", "shape": s, "data": v}),
            })
            .collect();
        let v = json!({"model_name": model.name, "outputs": outs});
        Ok((vec![("Content-Type", "application/json".into())], v.to_string().into_bytes()))
    }
}
