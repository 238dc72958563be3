//! The command target (`cmd:PROGRAM [ARGS]`): a wrapper program around a vendor runtime,
//! spoken to over its stdin/stdout with protocol `aite-cmd/1` (docs/remote.md).
//!
//! Each message is one JSON line in the Open Inference Protocol's shape followed by exactly the
//! sum of its tensors' `binary_data_size` raw bytes (the binary tensor data layout). The child
//! is spawned once, in its own process group, and kept; a reader thread frames its answers so
//! every wait has a deadline; a wrapper that dies, hangs or writes garbage is a request failure
//! naming the program, and the next request starts it again (counted in [`CommandTarget::restarts`]).
//! Dropping the target asks the wrapper to shut down, then kills its process group.

use crate::codec::{self, WireType};
use crate::oip::{check_inputs, decode_outputs, in_metadata_order, model_tensors, snippet};
use crate::RemoteError;
use aite_target::{PhaseTotal, RequestCounts, RequestOutcome, ServerStats, Target, TargetError, TargetInfo, Tensor};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The protocol name both sides state in the metadata exchange.
pub const PROTOCOL: &str = "aite-cmd/1";
/// The longest header line accepted from a wrapper.
const MAX_LINE: u64 = 16 << 20;
/// The most tensor bytes one answer may announce, 1 GiB.
const MAX_DATA: u64 = 1 << 30;
/// The bytes of the wrapper's stderr kept for error messages.
const STDERR_TAIL: usize = 2000;
/// The least time a wrapper gets from start to its metadata answer (runtimes load models).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One framed message from the wrapper: its JSON header and the raw bytes after it.
struct Message {
    header: Value,
    data: Vec<u8>,
}

/// Why the wrapper's stdout stopped giving messages; after any of these the stream is unusable.
enum StreamEnd {
    /// End of file: the wrapper closed stdout or exited. `partial`: inside a message.
    Eof { partial: bool },
    /// Bytes that are not the protocol.
    Garbage(String),
}

/// A running wrapper.
struct Running {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Result<Message, StreamEnd>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    /// The wrapper's stderr reached end of file (all of it is in `stderr`).
    stderr_done: Arc<AtomicBool>,
}

/// A request that did not end in a decoded answer.
struct Failure {
    outcome: RequestOutcome,
    message: String,
}

/// A model behind a wrapper program speaking `aite-cmd/1` on stdin/stdout.
pub struct CommandTarget {
    url: String,
    argv: Vec<String>,
    timeout: Duration,
    running: Option<Running>,
    info: TargetInfo,
    wire_inputs: Vec<WireType>,
    /// The metadata of the first start, which a restarted wrapper must repeat.
    metadata: Value,
    counts: RequestCounts,
    restarts: u64,
    next_id: u64,
    /// The wrapper's own `timing_ns.infer`, summed over answered requests, and their count.
    wrapper_infer_ns: (u64, u64),
}

/// Split `cmd:PROGRAM [ARGS]` into words: whitespace separates, '…' and "…" quote, \ escapes.
pub fn parse_command(url: &str) -> Result<Vec<String>, RemoteError> {
    let bad = |reason: &str| RemoteError::Url { url: url.to_string(), reason: reason.to_string() };
    let text = url.strip_prefix("cmd:").ok_or_else(|| bad("a command target starts with cmd:"))?;
    let (mut words, mut word, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => word.push(chars.next().ok_or_else(|| bad("a \\ ends the command"))?),
                        Some(x) => word.push(x),
                        None => return Err(bad(&format!("unclosed {c} in the command"))),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().ok_or_else(|| bad("a \\ ends the command"))?);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err(bad("no program after cmd:"));
    }
    Ok(words)
}

impl CommandTarget {
    /// Start the wrapper, exchange metadata, and read the model's inputs and outputs.
    /// `timeout` is each request's deadline; the start gets at least 60 s.
    pub fn connect(url: &str, timeout: Duration, input_shape: Option<&[usize]>) -> Result<CommandTarget, RemoteError> {
        let argv = parse_command(url)?;
        let mut t = CommandTarget {
            url: url.to_string(),
            argv,
            timeout,
            running: None,
            info: TargetInfo { name: url.to_string(), engine: "cmd".into(), engine_version: String::new(), threads: 1, inputs: vec![], outputs: vec![] },
            wire_inputs: vec![],
            metadata: Value::Null,
            counts: RequestCounts::default(),
            restarts: 0,
            next_id: 0,
            wrapper_infer_ns: (0, 0),
        };
        let meta = t.start().map_err(|f| RemoteError::Request {
            what: "the command target's metadata exchange",
            url: url.to_string(),
            outcome: f.outcome,
            message: f.message,
            hint: "the program must answer {\"type\":\"metadata\"} with its model's metadata on stdout (protocol aite-cmd/1, docs/remote.md)",
        })?;
        let (inputs, wire_inputs, outputs) = model_tensors(&meta, input_shape, url)?;
        if let Some((s, w)) = inputs.iter().zip(&wire_inputs).find(|(_, w)| !matches!(w, WireType::F32 | WireType::F16 | WireType::U8 | WireType::Bool | WireType::I8 | WireType::I32 | WireType::I64)) {
            return Err(RemoteError::Metadata { url: url.into(), reason: format!("input `{}` is {}", s.name, w.name()), hint: "aite sends FP32, FP16, INT8, UINT8, INT32, INT64 and BOOL inputs".into() });
        }
        let runtime = meta["runtime"].as_str().or(meta["platform"].as_str()).unwrap_or("unknown");
        t.info = TargetInfo { name: url.to_string(), engine: "cmd".into(), engine_version: runtime.to_string(), threads: 1, inputs, outputs };
        t.wire_inputs = wire_inputs;
        t.metadata = meta;
        Ok(t)
    }

    /// The program and its arguments.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// The model metadata the wrapper answered at start, as it sent it.
    pub fn metadata(&self) -> &Value {
        &self.metadata
    }

    /// Times the wrapper was started again after it died, hung or broke the protocol.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// The wrapper's own inference time (`timing_ns.infer`) summed over the requests that
    /// reported it, and how many did.
    pub fn wrapper_infer_ns(&self) -> (u64, u64) {
        self.wrapper_infer_ns
    }

    /// `PROGRAM` as messages name it.
    fn program(&self) -> &str {
        &self.argv[0]
    }

    /// Spawn the wrapper and exchange metadata; the answer's JSON.
    fn start(&mut self) -> Result<Value, Failure> {
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|e| Failure { outcome: RequestOutcome::Refused, message: format!("cannot start `{}`: {e}", self.argv[0]) })?;
        let (stdin, stdout, stderr) = (child.stdin.take().expect("piped"), child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || read_messages(BufReader::new(stdout), tx));
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (sink, done) = (tail.clone(), Arc::new(AtomicBool::new(false)));
        let finished = done.clone();
        std::thread::spawn(move || {
            keep_tail(stderr, sink);
            finished.store(true, Ordering::Release);
        });
        self.running = Some(Running { child, stdin, messages, stderr: tail, stderr_done: done });
        let header = json!({"type": "metadata", "protocol": PROTOCOL});
        let answer = self.exchange(&header, &[], self.timeout.max(START_TIMEOUT))?;
        let meta = answer.header;
        if let Some(e) = meta["error"].as_str() {
            return Err(Failure { outcome: RequestOutcome::Http5xx, message: format!("`{}` answered the metadata request with an error: {e}", self.program()) });
        }
        if meta["protocol"].as_str() != Some(PROTOCOL) {
            self.stop();
            return Err(Failure {
                outcome: RequestOutcome::Malformed,
                message: format!("`{}` answered protocol {} to the metadata request; aite speaks {PROTOCOL}", self.program(), meta.get("protocol").map_or("(none)".into(), |p| p.to_string())),
            });
        }
        Ok(meta)
    }

    /// Write one message and wait for the answer until `deadline`; any failure stops the wrapper.
    fn exchange(&mut self, header: &Value, data: &[u8], timeout: Duration) -> Result<Message, Failure> {
        let program = self.program().to_string();
        let run = self.running.as_mut().expect("exchange on a running wrapper");
        let mut line = serde_json::to_vec(header).expect("a JSON value serialises");
        line.push(b'\n');
        let until = Instant::now() + timeout;
        // A wrapper that does not read would block a large write: write from a thread, wait here.
        let writer = write_to(&run.stdin, [line, data.to_vec()].concat());
        let got = run.messages.recv_timeout(until.saturating_duration_since(Instant::now()));
        let result = match got {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(StreamEnd::Garbage(what))) => Err((RequestOutcome::Malformed, format!("`{program}` wrote something that is not protocol {PROTOCOL} on stdout: {what}"))),
            Ok(Err(StreamEnd::Eof { partial: true })) => Err((RequestOutcome::Truncated, format!("`{program}` {} in the middle of its answer", self.exit_text()))),
            Ok(Err(StreamEnd::Eof { partial: false })) | Err(RecvTimeoutError::Disconnected) => Err((RequestOutcome::Reset, format!("`{program}` {} before answering", self.exit_text()))),
            Err(RecvTimeoutError::Timeout) => Err((RequestOutcome::Timeout, format!("`{program}` did not answer within {} ms; it was stopped and starts again at the next request", timeout.as_millis()))),
        };
        // An answer before the wrapper read the whole request leaves the write blocked (and the
        // stream out of step): wait for the write until the deadline, then give up on the wrapper.
        let result = result.and_then(|m| {
            while !writer.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(1));
            }
            if writer.is_finished() {
                Ok(m)
            } else {
                Err((RequestOutcome::Malformed, format!("`{program}` answered without reading its whole request")))
            }
        });
        match result {
            Ok(m) => {
                let _ = writer.join();
                Ok(m)
            }
            Err((outcome, message)) => {
                self.stop();
                let _ = writer.join();
                let tail = self.stderr_tail();
                Err(Failure { outcome, message: if tail.is_empty() { message } else { format!("{message}; its stderr ends: {tail}") } })
            }
        }
    }

    /// `exited (exit status: 1)` or `closed its stdout`, after waiting briefly for the exit.
    fn exit_text(&mut self) -> String {
        let Some(run) = self.running.as_mut() else { return "stopped".into() };
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            match run.child.try_wait() {
                Ok(Some(status)) => return format!("exited ({status})"),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
                _ => return "closed its stdout".into(),
            }
        }
    }

    fn stderr_tail(&self) -> String {
        let Some(run) = &self.running else { return String::new() };
        // The wrapper is stopped: wait (briefly) for the stderr thread to take its last bytes.
        let until = Instant::now() + Duration::from_millis(500);
        while !run.stderr_done.load(Ordering::Acquire) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
        }
        let tail = run.stderr.lock().map(|t| t.iter().copied().collect::<Vec<u8>>()).unwrap_or_default();
        String::from_utf8_lossy(&tail).trim().replace('\n', " | ")
    }

    /// Kill the wrapper's process group and reap it; the next request starts it again.
    fn stop(&mut self) {
        if let Some(run) = self.running.as_mut() {
            kill_group(&mut run.child);
        }
    }

    /// One inference exchange, restarting a stopped wrapper first.
    fn request(&mut self, header: &Value, data: &[u8]) -> Result<Message, Failure> {
        let alive = self.running.as_mut().is_some_and(|r| matches!(r.child.try_wait(), Ok(None)));
        if !alive {
            if self.running.is_some() {
                self.stop();
            }
            self.restarts += 1;
            let meta = self.start()?;
            let same = |k: &str| meta[k] == self.metadata[k];
            if !(same("inputs") && same("outputs")) {
                self.stop();
                return Err(Failure { outcome: RequestOutcome::Malformed, message: format!("`{}` restarted with other inputs or outputs than at the start", self.program()) });
            }
        }
        self.exchange(header, data, self.timeout)
    }
}

/// Write `bytes` to the wrapper's stdin from a thread of its own, which owns a duplicate of the
/// descriptor and blocks SIGPIPE (the aite binary restores its default action, so a write to a
/// wrapper that died would otherwise kill aite): a dead reader is an `EPIPE` error there.
fn write_to(stdin: &ChildStdin, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    use std::os::fd::AsFd;
    let file = stdin.as_fd().try_clone_to_owned().ok().map(std::fs::File::from);
    std::thread::spawn(move || {
        // SAFETY: a signal mask of this thread only, built from an emptied set.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        if let Some(mut f) = file {
            let _ = f.write_all(&bytes).and_then(|_| f.flush());
        }
    })
}

/// SIGKILL to the wrapper's process group (it was started as its leader), then reap it.
fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // SAFETY: kill(2) with a negative pid signals the process group the child leads.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// The reader thread: frame the wrapper's stdout into messages until it ends or breaks the protocol.
fn read_messages(mut out: impl BufRead, tx: mpsc::Sender<Result<Message, StreamEnd>>) {
    loop {
        let mut line = Vec::new();
        let n = match (&mut out).take(MAX_LINE).read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(_) => {
                let _ = tx.send(Err(StreamEnd::Eof { partial: false }));
                return;
            }
        };
        if n == 0 {
            let _ = tx.send(Err(StreamEnd::Eof { partial: false }));
            return;
        }
        if line.last() != Some(&b'\n') {
            let end = if n as u64 >= MAX_LINE {
                StreamEnd::Garbage(format!("a header line longer than {MAX_LINE} bytes"))
            } else if line.first() == Some(&b'{') {
                StreamEnd::Eof { partial: true }
            } else {
                StreamEnd::Garbage(format!("{:?} and then end of file", snippet(&line)))
            };
            let _ = tx.send(Err(end));
            return;
        }
        let header: Value = match serde_json::from_slice(&line) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                let _ = tx.send(Err(StreamEnd::Garbage(format!("{:?}", snippet(&line).trim_end()))));
                return;
            }
        };
        let mut size: u64 = 0;
        for o in header["outputs"].as_array().into_iter().flatten() {
            match &o["parameters"]["binary_data_size"] {
                Value::Null => {}
                v => match v.as_u64() {
                    Some(k) => size = size.saturating_add(k),
                    None => {
                        let _ = tx.send(Err(StreamEnd::Garbage(format!("binary_data_size {v} is not a byte count"))));
                        return;
                    }
                },
            }
        }
        if size > MAX_DATA {
            let _ = tx.send(Err(StreamEnd::Garbage(format!("an answer announcing {size} tensor bytes (aite accepts up to {MAX_DATA})"))));
            return;
        }
        let mut data = vec![0; size as usize];
        if out.read_exact(&mut data).is_err() {
            let _ = tx.send(Err(StreamEnd::Eof { partial: true }));
            return;
        }
        if tx.send(Ok(Message { header, data })).is_err() {
            return;
        }
    }
}

/// The stderr thread: keep the last bytes the wrapper logged.
fn keep_tail(mut err: impl Read, tail: Arc<Mutex<VecDeque<u8>>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = err.read(&mut buf) {
        if n == 0 {
            return;
        }
        if let Ok(mut t) = tail.lock() {
            t.extend(&buf[..n]);
            while t.len() > STDERR_TAIL {
                t.pop_front();
            }
        }
    }
}

impl Drop for CommandTarget {
    fn drop(&mut self) {
        if let Some(run) = self.running.as_mut() {
            if let Ok(None) = run.child.try_wait() {
                let _ = write_to(&run.stdin, b"{\"type\":\"shutdown\"}\n".to_vec()).join();
                let until = Instant::now() + Duration::from_secs(1);
                while Instant::now() < until && matches!(run.child.try_wait(), Ok(None)) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            kill_group(&mut run.child);
        }
    }
}

impl Target for CommandTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }

    fn infer(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, TargetError> {
        check_inputs(&self.info, inputs)?;
        let mismatch = |reason: String| TargetError::InputMismatch { target: self.info.name.clone(), reason };
        let mut entries = Vec::with_capacity(inputs.len());
        let mut raw = Vec::new();
        for ((t, spec), &wire) in inputs.iter().zip(&self.info.inputs).zip(&self.wire_inputs) {
            let before = raw.len();
            codec::to_binary(wire, t, &mut raw).map_err(mismatch)?;
            entries.push(json!({"name": spec.name, "datatype": wire.name(), "shape": t.shape(), "parameters": {"binary_data_size": raw.len() - before}}));
        }
        self.next_id += 1;
        let id = self.next_id.to_string();
        let header = json!({"type": "infer", "id": id, "inputs": entries});
        let answer = self.request(&header, &raw).and_then(|m| {
            let program = self.program();
            if let Some(e) = m.header["error"].as_str() {
                let outcome = if m.header["code"] == "invalid_input" { RequestOutcome::Http4xx } else { RequestOutcome::Http5xx };
                return Err(Failure { outcome, message: format!("`{program}` answered an error: {e}") });
            }
            if m.header["id"].as_str() != Some(id.as_str()) {
                return Err(Failure { outcome: RequestOutcome::Malformed, message: format!("`{program}` answered id {} to request {id}", m.header["id"]) });
            }
            decode_outputs(&m.header, &m.data).map(|o| (o, m.header["timing_ns"]["infer"].as_u64())).map_err(|e| Failure { outcome: RequestOutcome::Malformed, message: format!("`{program}`: {e}") })
        });
        match answer {
            Ok((outputs, took)) => {
                self.counts.add(RequestOutcome::Ok);
                if let Some(ns) = took {
                    self.wrapper_infer_ns.0 += ns;
                    self.wrapper_infer_ns.1 += 1;
                }
                Ok(in_metadata_order(&self.info, outputs))
            }
            Err(f) => {
                self.counts.add(f.outcome);
                // A wrapper that broke the protocol cannot be trusted with the next request.
                if f.outcome == RequestOutcome::Malformed {
                    self.stop();
                }
                Err(TargetError::Inference { target: self.url.clone(), reason: format!("{}: {}", f.outcome, f.message) })
            }
        }
    }

    fn request_counts(&self) -> Option<RequestCounts> {
        Some(self.counts)
    }

    /// The wrapper's own `timing_ns.infer` as the compute-infer phase; the other phases are
    /// not reported by the protocol.
    fn server_stats(&mut self) -> Option<Result<ServerStats, String>> {
        let (ns, count) = self.wrapper_infer_ns;
        if count == 0 && self.counts.ok > 0 {
            return Some(Err(format!("`{}` sends no timing_ns.infer in its answers", self.program())));
        }
        Some(Ok(ServerStats { source: format!("timing_ns.infer of `{}`", self.program()), compute_infer: Some(PhaseTotal { count, ns }), ..Default::default() }))
    }
}
