//! The command target: a wrapper around a vendor runtime spoken to with protocol `aite-cmd/1`
//! (docs/remote.md), either a program aite starts (`cmd:PROGRAM [ARGS]`, over its stdin/stdout)
//! or a long-running wrapper daemon on the device (`cmd+unix://PATH`, over a Unix stream socket).
//!
//! Each message is one JSON line in the Open Inference Protocol's shape followed by exactly the
//! sum of its tensors' `binary_data_size` raw bytes (the binary tensor data layout), the same
//! bytes on both transports. The child (or connection) is opened once and kept; a reader thread
//! frames its answers so every wait has a deadline; a wrapper that dies, hangs, closes the
//! connection or writes garbage is a request failure naming the program or socket, and the next
//! request starts (or connects) again, counted in [`CommandTarget::restarts`]. A started
//! program's stderr is drained all the time (the pipe never fills) into a bounded
//! [`WrapperLog`] for the evidence. Dropping the target asks the wrapper to shut down, then kills
//! its process group (or closes the connection).

use crate::codec::{self, WireType};
use crate::oip::{check_inputs, decode_outputs, in_metadata_order, model_tensors, snippet};
use crate::RemoteError;
use aite_target::{PhaseTotal, RequestCounts, RequestOutcome, ServerStats, Target, TargetError, TargetInfo, Tensor};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The protocol name both sides state in the metadata exchange.
pub const PROTOCOL: &str = "aite-cmd/1";
/// The scheme of a wrapper daemon on a Unix stream socket: `cmd+unix://PATH`.
pub const UNIX_SCHEME: &str = "cmd+unix://";
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

/// Why the wrapper's stream stopped giving messages; after any of these the stream is unusable.
enum StreamEnd {
    /// End of file: the wrapper closed stdout (or the connection) or exited. `partial`: inside a message.
    Eof { partial: bool },
    /// Bytes that are not the protocol.
    Garbage(String),
}

/// Where the wrapper runs.
enum Transport {
    /// A program aite starts and speaks to on its stdin/stdout: `cmd:PROGRAM [ARGS]`.
    Process(Vec<String>),
    /// A wrapper daemon listening on a Unix stream socket: `cmd+unix://PATH`.
    Unix(PathBuf),
}

/// The open link to a running wrapper.
enum Link {
    Child {
        child: Child,
        stdin: ChildStdin,
        /// The last bytes of this process's stderr, for error messages.
        stderr: Arc<Mutex<VecDeque<u8>>>,
        /// The wrapper's stderr reached end of file (all of it is in `stderr`).
        stderr_done: Arc<AtomicBool>,
    },
    Socket {
        stream: UnixStream,
        /// Still open on aite's side (a failure closes it).
        open: bool,
    },
}

/// A running wrapper: the link and the framed messages its reader thread delivers.
struct Running {
    link: Link,
    messages: Receiver<Result<Message, StreamEnd>>,
}

impl Running {
    /// The descriptor aite writes requests to.
    fn request_fd(&self) -> BorrowedFd<'_> {
        match &self.link {
            Link::Child { stdin, .. } => stdin.as_fd(),
            Link::Socket { stream, .. } => stream.as_fd(),
        }
    }
}

/// A request that did not end in a decoded answer.
struct Failure {
    outcome: RequestOutcome,
    message: String,
}

/// The stderr of the wrapper programs a command target started, every start marked, the last
/// [`WrapperLog::LIMIT`] bytes kept: what the run writes into its evidence as
/// `target-stderr.txt`. Clones share one log; a daemon on a socket has no stderr of aite's.
#[derive(Clone, Default)]
pub struct WrapperLog(Arc<Mutex<LogState>>);

#[derive(Default)]
struct LogState {
    kept: VecDeque<u8>,
    /// Bytes dropped from the front to stay within the limit.
    dropped: u64,
    starts: u64,
}

impl WrapperLog {
    /// The most bytes kept, 64 KiB.
    pub const LIMIT: usize = 64 << 10;

    /// The log as the evidence file holds it: a note of any bytes dropped, then the kept bytes;
    /// `None` while no wrapper was started.
    pub fn contents(&self) -> Option<Vec<u8>> {
        let s = self.0.lock().ok()?;
        if s.starts == 0 {
            return None;
        }
        let mut out = Vec::with_capacity(s.kept.len() + 100);
        if s.dropped > 0 {
            out.extend_from_slice(format!("[aite: the first {} bytes were dropped; the last {} are kept]\n", s.dropped, s.kept.len()).as_bytes());
        }
        out.extend(s.kept.iter());
        Some(out)
    }

    /// Wrapper programs started so far (restarts included).
    pub fn starts(&self) -> u64 {
        self.0.lock().map(|s| s.starts).unwrap_or(0)
    }

    fn push(&self, bytes: &[u8]) {
        if let Ok(mut s) = self.0.lock() {
            s.kept.extend(bytes);
            let over = s.kept.len().saturating_sub(Self::LIMIT);
            if over > 0 {
                s.kept.drain(..over);
                s.dropped += over as u64;
            }
        }
    }

    fn note_start(&self, argv: &[String]) {
        let n = self.0.lock().map(|mut s| {
            s.starts += 1;
            s.starts
        });
        if let Ok(n) = n {
            self.push(format!("[aite: start {n} of `{}`]\n", argv.join(" ")).as_bytes());
        }
    }
}

impl std::fmt::Debug for WrapperLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kept, starts) = self.0.lock().map(|s| (s.kept.len(), s.starts)).unwrap_or_default();
        write!(f, "WrapperLog {{ starts: {starts}, kept: {kept} bytes }}")
    }
}

/// A model behind a wrapper speaking `aite-cmd/1`: a program on stdin/stdout or a daemon on a
/// Unix socket.
pub struct CommandTarget {
    url: String,
    transport: Transport,
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
    /// Where a started program's stderr goes besides the error messages.
    log: Option<WrapperLog>,
}

/// The socket path of `cmd+unix://PATH` (`cmd+unix:///run/npu.sock` is `/run/npu.sock`).
pub fn parse_unix_socket(url: &str) -> Result<PathBuf, RemoteError> {
    let bad = |reason: &str| RemoteError::Url { url: url.to_string(), reason: reason.to_string() };
    let path = url.strip_prefix(UNIX_SCHEME).ok_or_else(|| bad("a wrapper daemon's socket is cmd+unix://PATH, e.g. cmd+unix:///run/aite/npu.sock"))?;
    if path.is_empty() {
        return Err(bad("no socket path after cmd+unix://"));
    }
    Ok(PathBuf::from(path))
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
    /// Start the wrapper (`cmd:`) or connect to it (`cmd+unix://`), exchange metadata, and read
    /// the model's inputs and outputs. `timeout` is each request's deadline; the start gets at
    /// least 60 s.
    pub fn connect(url: &str, timeout: Duration, input_shape: Option<&[usize]>) -> Result<CommandTarget, RemoteError> {
        CommandTarget::connect_logged(url, timeout, input_shape, None)
    }

    /// [`connect`](CommandTarget::connect), with a started program's stderr also kept in `log`.
    pub fn connect_logged(url: &str, timeout: Duration, input_shape: Option<&[usize]>, log: Option<WrapperLog>) -> Result<CommandTarget, RemoteError> {
        let transport = if url.starts_with(UNIX_SCHEME) { Transport::Unix(parse_unix_socket(url)?) } else { Transport::Process(parse_command(url)?) };
        let hint = match transport {
            Transport::Process(_) => "the program must answer {\"type\":\"metadata\"} with its model's metadata on stdout (protocol aite-cmd/1, docs/remote.md)",
            Transport::Unix(_) => "start the wrapper daemon on the device with --unix PATH (reference wrappers: crates/aite-remote/wrappers); it must answer {\"type\":\"metadata\"} on each connection (protocol aite-cmd/1, docs/remote.md)",
        };
        let mut t = CommandTarget {
            url: url.to_string(),
            transport,
            timeout,
            running: None,
            info: TargetInfo { name: url.to_string(), engine: "cmd".into(), engine_version: String::new(), threads: 1, inputs: vec![], outputs: vec![] },
            wire_inputs: vec![],
            metadata: Value::Null,
            counts: RequestCounts::default(),
            restarts: 0,
            next_id: 0,
            wrapper_infer_ns: (0, 0),
            log,
        };
        let meta = t.start().map_err(|f| RemoteError::Request { what: "the command target's metadata exchange", url: url.to_string(), outcome: f.outcome, message: f.message, hint })?;
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

    /// The program and its arguments (empty for a daemon on a socket).
    pub fn argv(&self) -> &[String] {
        match &self.transport {
            Transport::Process(argv) => argv,
            Transport::Unix(_) => &[],
        }
    }

    /// The socket of a wrapper daemon (`cmd+unix://PATH`).
    pub fn socket(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Unix(p) => Some(p),
            Transport::Process(_) => None,
        }
    }

    /// The model metadata the wrapper answered at start, as it sent it.
    pub fn metadata(&self) -> &Value {
        &self.metadata
    }

    /// Times the wrapper was started (or, over a socket, connected) again after it died, hung,
    /// closed the connection or broke the protocol.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// The wrapper's own inference time (`timing_ns.infer`) summed over the requests that
    /// reported it, and how many did.
    pub fn wrapper_infer_ns(&self) -> (u64, u64) {
        self.wrapper_infer_ns
    }

    /// The wrapper as messages name it: `` `PROGRAM` `` or ``the wrapper at `PATH` ``.
    fn who(&self) -> String {
        match &self.transport {
            Transport::Process(argv) => format!("`{}`", argv[0]),
            Transport::Unix(p) => format!("the wrapper at `{}`", p.display()),
        }
    }

    /// Open the link (spawn the program, or connect to the socket) and exchange metadata; the
    /// answer's JSON.
    fn start(&mut self) -> Result<Value, Failure> {
        let (tx, messages) = mpsc::channel();
        let link = match &self.transport {
            Transport::Process(argv) => {
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
                std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
                let mut child = cmd.spawn().map_err(|e| Failure { outcome: RequestOutcome::Refused, message: format!("cannot start `{}`: {e}", argv[0]) })?;
                if let Some(log) = &self.log {
                    log.note_start(argv);
                }
                let (stdin, stdout, stderr) = (child.stdin.take().expect("piped"), child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
                std::thread::spawn(move || read_messages(BufReader::new(stdout), tx));
                let tail = Arc::new(Mutex::new(VecDeque::new()));
                let (sink, done, log) = (tail.clone(), Arc::new(AtomicBool::new(false)), self.log.clone());
                let finished = done.clone();
                std::thread::spawn(move || {
                    keep_tail(stderr, sink, log);
                    finished.store(true, Ordering::Release);
                });
                Link::Child { child, stdin, stderr: tail, stderr_done: done }
            }
            Transport::Unix(path) => {
                let stream = UnixStream::connect(path).map_err(|e| Failure { outcome: RequestOutcome::Refused, message: connect_text(path, &e) })?;
                let reader = stream.try_clone().map_err(|e| Failure { outcome: RequestOutcome::Refused, message: format!("cannot use the connection to `{}`: {e}", path.display()) })?;
                std::thread::spawn(move || read_messages(BufReader::new(reader), tx));
                Link::Socket { stream, open: true }
            }
        };
        self.running = Some(Running { link, messages });
        let header = json!({"type": "metadata", "protocol": PROTOCOL});
        let answer = self.exchange(&header, &[], self.timeout.max(START_TIMEOUT))?;
        let meta = answer.header;
        if let Some(e) = meta["error"].as_str() {
            self.stop();
            return Err(Failure { outcome: RequestOutcome::Http5xx, message: format!("{} answered the metadata request with an error: {e}", self.who()) });
        }
        if meta["protocol"].as_str() != Some(PROTOCOL) {
            self.stop();
            return Err(Failure {
                outcome: RequestOutcome::Malformed,
                message: format!("{} answered protocol {} to the metadata request; aite speaks {PROTOCOL}", self.who(), meta.get("protocol").map_or("(none)".into(), |p| p.to_string())),
            });
        }
        Ok(meta)
    }

    /// Write one message and wait for the answer until `deadline`; any failure stops the wrapper.
    fn exchange(&mut self, header: &Value, data: &[u8], timeout: Duration) -> Result<Message, Failure> {
        let who = self.who();
        let run = self.running.as_mut().expect("exchange on a running wrapper");
        let mut line = serde_json::to_vec(header).expect("a JSON value serialises");
        line.push(b'\n');
        let until = Instant::now() + timeout;
        // A wrapper that does not read would block a large write: write from a thread, wait here.
        let writer = write_to(run.request_fd(), [line, data.to_vec()].concat());
        let got = run.messages.recv_timeout(until.saturating_duration_since(Instant::now()));
        let result = match got {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(StreamEnd::Garbage(what))) => Err((RequestOutcome::Malformed, format!("{who} wrote something that is not protocol {PROTOCOL} {}: {what}", self.stream_name()))),
            Ok(Err(StreamEnd::Eof { partial: true })) => Err((RequestOutcome::Truncated, format!("{who} {} in the middle of its answer", self.exit_text()))),
            Ok(Err(StreamEnd::Eof { partial: false })) | Err(RecvTimeoutError::Disconnected) => Err((RequestOutcome::Reset, format!("{who} {} before answering", self.exit_text()))),
            Err(RecvTimeoutError::Timeout) => Err((RequestOutcome::Timeout, format!("{who} did not answer within {} ms; {}", timeout.as_millis(), self.stop_text()))),
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
                Err((RequestOutcome::Malformed, format!("{who} answered without reading its whole request")))
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
                let message = if tail.is_empty() { message } else { format!("{message}; its stderr ends: {tail}") };
                let kept = if self.log.is_some() && matches!(self.transport, Transport::Process(_)) { " (the evidence package keeps the last 64 KiB of its stderr as target-stderr.txt)" } else { "" };
                Err(Failure { outcome, message: format!("{message}{kept}") })
            }
        }
    }

    /// `on stdout` or `on the socket`, for messages.
    fn stream_name(&self) -> &'static str {
        match self.transport {
            Transport::Process(_) => "on stdout",
            Transport::Unix(_) => "on the socket",
        }
    }

    /// What aite does to a wrapper that missed its deadline, for the timeout message.
    fn stop_text(&self) -> &'static str {
        match self.transport {
            Transport::Process(_) => "it was stopped and starts again at the next request",
            Transport::Unix(_) => "the connection was closed and is opened again at the next request",
        }
    }

    /// `exited (exit status: 1)`, `closed its stdout` or `closed the connection`, after waiting
    /// briefly for a program's exit.
    fn exit_text(&mut self) -> String {
        match self.running.as_mut().map(|r| &mut r.link) {
            None => "stopped".into(),
            Some(Link::Socket { .. }) => "closed the connection".into(),
            Some(Link::Child { child, .. }) => {
                let until = Instant::now() + Duration::from_secs(2);
                loop {
                    match child.try_wait() {
                        Ok(Some(status)) => return format!("exited ({status})"),
                        Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(10)),
                        _ => return "closed its stdout".into(),
                    }
                }
            }
        }
    }

    /// The last bytes of a stopped program's stderr, lines joined by ` | ` (empty over a socket).
    fn stderr_tail(&self) -> String {
        let Some(Running { link: Link::Child { stderr, stderr_done, .. }, .. }) = &self.running else { return String::new() };
        // The wrapper is stopped: wait for the stderr thread to take its last bytes (it ends at
        // once on the end of stream; 5 s only bounds a grandchild holding stderr open, and 500 ms
        // lost the tail when a loaded machine scheduled the thread late).
        let until = Instant::now() + Duration::from_secs(5);
        while !stderr_done.load(Ordering::Acquire) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
        }
        let tail = stderr.lock().map(|t| t.iter().copied().collect::<Vec<u8>>()).unwrap_or_default();
        String::from_utf8_lossy(&tail).trim().replace('\n', " | ")
    }

    /// Kill the wrapper's process group and reap it, or close the connection; the next request
    /// starts (connects) again.
    fn stop(&mut self) {
        match self.running.as_mut().map(|r| &mut r.link) {
            Some(Link::Child { child, .. }) => kill_group(child),
            Some(Link::Socket { stream, open }) => {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                *open = false;
            }
            None => {}
        }
    }

    /// The link can take a request: the program runs (the connection is open) and nothing
    /// arrived unasked (an end of stream, e.g. a daemon that closed an idle connection).
    fn usable(&mut self) -> bool {
        let Some(run) = self.running.as_mut() else { return false };
        let up = match &mut run.link {
            Link::Child { child, .. } => matches!(child.try_wait(), Ok(None)),
            Link::Socket { open, .. } => *open,
        };
        up && matches!(run.messages.try_recv(), Err(TryRecvError::Empty))
    }

    /// One inference exchange, restarting (reconnecting) a stopped wrapper first.
    fn request(&mut self, header: &Value, data: &[u8]) -> Result<Message, Failure> {
        if !self.usable() {
            if self.running.is_some() {
                self.stop();
            }
            self.restarts += 1;
            let meta = self.start()?;
            let same = |k: &str| meta[k] == self.metadata[k];
            if !(same("inputs") && same("outputs")) {
                self.stop();
                return Err(Failure { outcome: RequestOutcome::Malformed, message: format!("{} restarted with other inputs or outputs than at the start", self.who()) });
            }
        }
        self.exchange(header, data, self.timeout)
    }
}

/// Why a socket connection failed, naming the path.
fn connect_text(path: &Path, e: &std::io::Error) -> String {
    use std::os::unix::fs::FileTypeExt;
    let p = path.display();
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("no socket at `{p}`: is the wrapper daemon running (started with --unix {p})?"),
        std::io::ErrorKind::ConnectionRefused => match std::fs::metadata(path) {
            Ok(m) if !m.file_type().is_socket() => format!("`{p}` is not a Unix socket"),
            _ => format!("`{p}` refused the connection: nothing listens on it (a daemon that stopped leaves its socket file behind)"),
        },
        _ => format!("cannot connect to `{p}`: {e}"),
    }
}

/// Write `bytes` to the wrapper (its stdin, or the socket) from a thread of its own, which owns
/// a duplicate of the descriptor and blocks SIGPIPE (the aite binary restores its default
/// action, so a write to a wrapper that died would otherwise kill aite): a dead reader is an
/// `EPIPE` error there.
fn write_to(fd: BorrowedFd<'_>, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    let file = fd.try_clone_to_owned().ok().map(std::fs::File::from);
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

/// The stderr thread: read everything the wrapper logs as it comes (the pipe never fills), keep
/// the last bytes for error messages and pass all of it to the run's log.
fn keep_tail(mut err: impl Read, tail: Arc<Mutex<VecDeque<u8>>>, log: Option<WrapperLog>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = err.read(&mut buf) {
        if n == 0 {
            return;
        }
        if let Some(log) = &log {
            log.push(&buf[..n]);
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
        let Some(run) = self.running.as_mut() else { return };
        let bye = b"{\"type\":\"shutdown\"}\n".to_vec();
        match &mut run.link {
            Link::Child { child, stdin, .. } => {
                if let Ok(None) = child.try_wait() {
                    let _ = write_to(stdin.as_fd(), bye).join();
                    let until = Instant::now() + Duration::from_secs(1);
                    while Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                kill_group(child);
            }
            Link::Socket { stream, open } => {
                if *open {
                    let _ = write_to(stream.as_fd(), bye).join();
                }
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
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
            let program = self.who();
            if let Some(e) = m.header["error"].as_str() {
                let outcome = if m.header["code"] == "invalid_input" { RequestOutcome::Http4xx } else { RequestOutcome::Http5xx };
                return Err(Failure { outcome, message: format!("{program} answered an error: {e}") });
            }
            if m.header["id"].as_str() != Some(id.as_str()) {
                return Err(Failure { outcome: RequestOutcome::Malformed, message: format!("{program} answered id {} to request {id}", m.header["id"]) });
            }
            decode_outputs(&m.header, &m.data).map(|o| (o, m.header["timing_ns"]["infer"].as_u64())).map_err(|e| Failure { outcome: RequestOutcome::Malformed, message: format!("{program}: {e}") })
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
            return Some(Err(format!("{} sends no timing_ns.infer in its answers", self.who())));
        }
        Some(Ok(ServerStats { source: format!("timing_ns.infer of {}", self.who()), compute_infer: Some(PhaseTotal { count, ns }), ..Default::default() }))
    }
}
