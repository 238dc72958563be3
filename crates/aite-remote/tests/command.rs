//! The command target against small `sh` wrappers that speak protocol aite-cmd/1 by hand:
//! answers checked against hand-written bytes, and every way a wrapper can misbehave (exits,
//! writes garbage, answers an error, stops mid-answer, hangs, speaks another protocol, does
//! not exist) is a named error with its recorded outcome, never a panic or a hang.

use aite_remote::CommandTarget;
use aite_target::{RequestOutcome, Target, Tensor};
use std::time::Duration;

const META: &str = r#"{"protocol":"aite-cmd/1","name":"m","runtime":"sh-test 1","inputs":[{"name":"x","datatype":"FP32","shape":[1,2]}],"outputs":[{"name":"y","datatype":"FP32","shape":[1,2]}]}"#;

/// `cmd:sh -c SCRIPT`, the script quoted for the command parser.
fn url(script: &str) -> String {
    format!("cmd:sh -c '{script}'")
}

/// A wrapper that answers the metadata request, then runs `then` for the inference requests.
fn wrapper(then: &str) -> String {
    url(&format!("read m; printf \"%s\\n\" \"$(cat <<E\n{META}\nE\n)\"; {then}"))
}

fn input() -> Vec<Tensor> {
    vec![Tensor::f32(vec![1, 2], vec![1.0, -2.5]).unwrap()]
}

fn connect(u: &str) -> CommandTarget {
    CommandTarget::connect(u, Duration::from_secs(5), None).unwrap_or_else(|e| panic!("{u}: {e}"))
}

#[test]
fn answers_decode_to_hand_written_bytes() {
    // Reads the request header and the 8 input bytes, answers 1.0 and -2.5 as FP32 little-endian
    // (0x3F800000, 0xC0200000), twice.
    let answer = r#"while read h; do head -c 8 >/dev/null; id=$(printf %s "$h" | sed "s/.*\"id\":\"\([0-9]*\)\".*/\1/"); printf "{\"id\":\"%s\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[1,2],\"parameters\":{\"binary_data_size\":8}}],\"timing_ns\":{\"infer\":1000}}\n\000\000\200\077\000\000\040\300" "$id"; done"#;
    let mut t = connect(&wrapper(answer));
    assert_eq!((t.info().engine.as_str(), t.info().engine_version.as_str()), ("cmd", "sh-test 1"));
    assert_eq!(t.info().inputs[0].shape_string(), "[1,2]");
    for _ in 0..2 {
        let out = t.infer(&input()).unwrap();
        assert_eq!(out[0].to_f32_vec(), vec![1.0, -2.5]);
    }
    assert_eq!(t.wrapper_infer_ns(), (2000, 2));
    // The wrapper's timing_ns.infer is the compute-infer phase; the protocol reports no other.
    let s = t.server_stats().unwrap().unwrap();
    assert_eq!(s.compute_infer, Some(aite_target::PhaseTotal { count: 2, ns: 2000 }));
    assert_eq!((s.queue, s.success, s.inference_count), (None, None, None));
    let c = t.request_counts().unwrap();
    assert_eq!((c.ok, c.errors()), (2, 0));
    assert_eq!(t.restarts(), 0);
}

fn failure(then: &str, timeout: Duration) -> (RequestOutcome, String, CommandTarget) {
    let u = wrapper(then);
    let mut t = CommandTarget::connect(&u, timeout, None).unwrap_or_else(|e| panic!("{e}"));
    let e = t.infer(&input()).unwrap_err().to_string();
    let c = t.request_counts().unwrap();
    let outcome = [
        (c.reset, RequestOutcome::Reset),
        (c.truncated, RequestOutcome::Truncated),
        (c.malformed, RequestOutcome::Malformed),
        (c.timeout, RequestOutcome::Timeout),
        (c.http_4xx, RequestOutcome::Http4xx),
        (c.http_5xx, RequestOutcome::Http5xx),
    ]
    .into_iter()
    .find(|(n, _)| *n == 1)
    .map(|(_, o)| o)
    .unwrap_or_else(|| panic!("no failure counted: {c:?}"));
    assert!(e.contains("cmd:sh -c"), "the error names the command: {e}");
    (outcome, e, t)
}

#[test]
fn a_wrapper_that_exits_mid_run_is_a_reset_naming_its_status_and_stderr() {
    let (outcome, e, mut t) = failure("read h; echo NPU lost >&2; exit 3", Duration::from_secs(5));
    assert_eq!(outcome, RequestOutcome::Reset);
    assert!(e.contains("`sh` exited (exit status: 3) before answering") && e.contains("NPU lost"), "{e}");
    // The next request starts the wrapper again (and it fails the same way).
    assert!(t.infer(&input()).is_err());
    assert_eq!(t.restarts(), 1);
}

#[test]
fn garbage_on_stdout_is_malformed() {
    let (outcome, e, _) = failure("read h; echo Loading NPU firmware...; sleep 5", Duration::from_secs(5));
    assert_eq!(outcome, RequestOutcome::Malformed);
    assert!(e.contains("not protocol aite-cmd/1") && e.contains("Loading NPU firmware..."), "{e}");
}

#[test]
fn an_error_answer_carries_the_wrappers_message() {
    let (outcome, e, _) = failure(r#"read h; head -c 8 >/dev/null; echo "{\"id\":\"1\",\"error\":\"out of NPU memory\",\"code\":\"runtime\"}"; sleep 5"#, Duration::from_secs(5));
    assert_eq!(outcome, RequestOutcome::Http5xx);
    assert!(e.contains("answered an error: out of NPU memory"), "{e}");
    let (outcome, e, _) = failure(r#"read h; head -c 8 >/dev/null; echo "{\"id\":\"1\",\"error\":\"bad shape\",\"code\":\"invalid_input\"}"; sleep 5"#, Duration::from_secs(5));
    assert_eq!((outcome, e.contains("bad shape")), (RequestOutcome::Http4xx, true), "{e}");
}

#[test]
fn an_answer_cut_short_is_truncated() {
    let (outcome, e, _) = failure(r#"read h; printf "{\"id\":\"1\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[1,2],\"parameters\":{\"binary_data_size\":8}}]}\nabc"; exit 0"#, Duration::from_secs(5));
    assert_eq!(outcome, RequestOutcome::Truncated);
    assert!(e.contains("in the middle of its answer"), "{e}");
}

#[test]
fn a_hanging_wrapper_times_out_and_is_stopped() {
    let (outcome, e, _) = failure("read h; sleep 30", Duration::from_millis(300));
    assert_eq!(outcome, RequestOutcome::Timeout);
    assert!(e.contains("did not answer within 300 ms"), "{e}");
}

#[test]
fn a_wrong_answer_id_or_byte_count_is_malformed() {
    let (outcome, e, _) = failure(r#"read h; head -c 8 >/dev/null; printf "{\"id\":\"9\",\"outputs\":[]}\n"; sleep 5"#, Duration::from_secs(5));
    assert_eq!(outcome, RequestOutcome::Malformed);
    assert!(e.contains("answered id \"9\" to request 1"), "{e}");
    let (outcome, e, _) = failure(r#"read h; head -c 8 >/dev/null; printf "{\"id\":\"1\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[1,2],\"parameters\":{\"binary_data_size\":4}}]}\nabcd"; sleep 5"#, Duration::from_secs(5));
    assert_eq!(outcome, RequestOutcome::Malformed);
    assert!(e.contains("needs 8 bytes"), "{e}");
}

#[test]
fn an_answer_before_the_request_was_read_does_not_block_aite() {
    // 1 MiB of input that the wrapper never reads (a pipe holds 64 KiB): the write cannot finish.
    let meta = META.replace("[1,2]}],\"outputs\"", "[1,262144]}],\"outputs\"");
    let u = url(&format!("read m; printf \"%s\\n\" \"$(cat <<E\n{meta}\nE\n)\"; read h; echo \"{{\\\"id\\\":\\\"1\\\",\\\"error\\\":\\\"busy\\\"}}\"; sleep 30"));
    // The timeout must cover the wrapper's early answer (a loaded machine may take a while to run
    // `read h; echo`); aite then waits the rest of it for the blocked write, so keep it moderate.
    let mut t = CommandTarget::connect(&u, Duration::from_secs(5), None).unwrap_or_else(|e| panic!("{e}"));
    let e = t.infer(&[Tensor::f32(vec![1, 262144], vec![0.5; 262144]).unwrap()]).unwrap_err().to_string();
    assert!(e.contains("answered without reading its whole request"), "{e}");
    assert_eq!(t.request_counts().unwrap().malformed, 1);
}

#[test]
fn start_up_failures_name_the_program() {
    for (u, says) in [
        ("cmd:/nonexistent/npu-wrapper --model m".to_string(), "cannot start `/nonexistent/npu-wrapper`"),
        (url("exit 2"), "`sh` exited (exit status: 2) before answering"),
        (url(r#"read m; echo "{\"protocol\":\"other/2\"}"; sleep 5"#), "answered protocol \"other/2\""),
        (url("read m; echo hello"), "not protocol aite-cmd/1"),
        (url(r#"read m; echo "{\"protocol\":\"aite-cmd/1\",\"inputs\":[],\"outputs\":[]}"; sleep 5"#), "lists no inputs"),
        ("cmd:".to_string(), "no program after cmd:"),
        ("cmd:python3 'wrapper.py".to_string(), "unclosed '"),
    ] {
        let e = CommandTarget::connect(&u, Duration::from_secs(5), None).err().unwrap_or_else(|| panic!("{u} connected")).to_string();
        assert!(e.contains(says), "{u}: {e}");
    }
}

#[test]
fn inputs_are_checked_before_anything_is_sent() {
    let mut t = connect(&wrapper("read h; exit 9"));
    let e = t.infer(&[Tensor::f32(vec![1, 3], vec![0.0; 3]).unwrap()]).unwrap_err().to_string();
    assert!(e.contains("input `x` has shape [1,2]"), "{e}");
    assert_eq!(t.request_counts().unwrap().total(), 0);
}

#[test]
fn command_words_split_like_a_shell() {
    let w = aite_remote::parse_command(r#"cmd:python3  "my wrapper.py" --model a\ b 'x y'"#).unwrap();
    assert_eq!(w, ["python3", "my wrapper.py", "--model", "a b", "x y"]);
}

// The same protocol to a wrapper daemon on a Unix stream socket (`cmd+unix://PATH`).

/// What the fake daemon does with one infer request on a connection.
#[derive(Clone, Copy)]
enum Daemon {
    /// Answer 1.0 and -2.5 (FP32 little-endian 0x3F800000, 0xC0200000).
    Answer,
    /// Send the header and half the tensor bytes, then close the connection.
    CloseMidFrame,
    /// Close the connection without answering.
    Close,
}

/// A daemon on `path` answering each connection's metadata, then its infer requests as the
/// connection's script says (the last step repeats). Returns the connections accepted so far.
fn daemon(path: &std::path::Path, scripts: Vec<Vec<Daemon>>) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(conn) = conn else { return };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let script = scripts.get(n).or(scripts.last()).cloned().unwrap_or_default();
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut w = conn;
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                w.write_all(format!("{META}\n").as_bytes()).unwrap();
                for k in 0.. {
                    line.clear();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line.contains("shutdown") {
                        return;
                    }
                    let mut x = [0u8; 8];
                    r.read_exact(&mut x).unwrap();
                    let id = line.split("\"id\":\"").nth(1).and_then(|t| t.split('"').next()).unwrap_or("?").to_string();
                    let head = format!("{{\"id\":\"{id}\",\"outputs\":[{{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[1,2],\"parameters\":{{\"binary_data_size\":8}}}}],\"timing_ns\":{{\"infer\":500}}}}\n");
                    let bytes = [0u8, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0];
                    match script.get(k).or(script.last()).copied().unwrap_or(Daemon::Answer) {
                        Daemon::Answer => {
                            w.write_all(head.as_bytes()).unwrap();
                            w.write_all(&bytes).unwrap();
                        }
                        Daemon::CloseMidFrame => {
                            w.write_all(head.as_bytes()).unwrap();
                            w.write_all(&bytes[..4]).unwrap();
                            return;
                        }
                        Daemon::Close => return,
                    }
                }
            });
        }
    });
    accepted
}

fn socket_url(path: &std::path::Path) -> String {
    format!("cmd+unix://{}", path.display())
}

#[test]
fn a_daemon_on_a_unix_socket_answers_as_a_program_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("npu.sock");
    let accepted = daemon(&path, vec![vec![Daemon::Answer]]);
    let mut t = connect(&socket_url(&path));
    assert_eq!((t.info().engine.as_str(), t.info().engine_version.as_str()), ("cmd", "sh-test 1"));
    assert_eq!(t.socket(), Some(path.as_path()));
    for _ in 0..3 {
        assert_eq!(t.infer(&input()).unwrap()[0].to_f32_vec(), vec![1.0, -2.5]);
    }
    assert_eq!(t.wrapper_infer_ns(), (1500, 3));
    assert_eq!((t.request_counts().unwrap().ok, t.restarts()), (3, 0));
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1, "one connection for the whole run");
}

#[test]
fn a_daemon_closing_mid_frame_is_truncated_naming_the_socket_then_reconnected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("npu.sock");
    // Connection 1: one answer, then closes half-way through the second; connection 2 closes
    // without answering; connection 3 answers.
    let accepted = daemon(&path, vec![vec![Daemon::Answer, Daemon::CloseMidFrame], vec![Daemon::Close], vec![Daemon::Answer]]);
    let url = socket_url(&path);
    let mut t = connect(&url);
    t.infer(&input()).unwrap();
    let e = t.infer(&input()).unwrap_err().to_string();
    let at = format!("the wrapper at `{}` closed the connection in the middle of its answer", path.display());
    assert!(e.contains(&url) && e.contains("truncated") && e.contains(&at), "{e}");
    let e = t.infer(&input()).unwrap_err().to_string();
    assert!(e.contains("reset") && e.contains(&format!("the wrapper at `{}` closed the connection before answering", path.display())), "{e}");
    assert_eq!(t.infer(&input()).unwrap()[0].to_f32_vec(), vec![1.0, -2.5]);
    let c = t.request_counts().unwrap();
    assert_eq!((c.ok, c.truncated, c.reset, t.restarts()), (2, 1, 1, 2));
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn a_socket_that_is_missing_refused_or_not_a_socket_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.sock");
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap()); // the file stays, nobody listens
    let plain = dir.path().join("plain.sock");
    std::fs::write(&plain, b"not a socket").unwrap();
    for (path, says) in [(&missing, "no socket at"), (&stale, "refused the connection: nothing listens on it"), (&plain, "is not a Unix socket")] {
        let e = CommandTarget::connect(&socket_url(path), Duration::from_secs(5), None).err().expect("no daemon");
        assert!(matches!(e, aite_remote::RemoteError::Request { outcome: RequestOutcome::Refused, .. }), "{e}");
        let e = e.to_string();
        assert!(e.contains(says) && e.contains(&format!("`{}`", path.display())) && e.contains("--unix"), "{}: {e}", path.display());
    }
    let e = CommandTarget::connect("cmd+unix://", Duration::from_secs(5), None).err().unwrap().to_string();
    assert!(e.contains("no socket path after cmd+unix://"), "{e}");
}

#[test]
fn a_wrappers_stderr_is_logged_bounded_and_its_last_line_named_when_it_dies() {
    let log = aite_remote::WrapperLog::default();
    assert_eq!(log.contents(), None, "no wrapper started, no file");
    let u = wrapper("echo loading model >&2; read h; echo NPU lost: DMA timeout >&2; exit 3");
    let mut t = CommandTarget::connect_logged(&u, Duration::from_secs(5), None, Some(log.clone())).unwrap();
    let e = t.infer(&input()).unwrap_err().to_string();
    assert!(e.contains("its stderr ends: loading model | NPU lost: DMA timeout") && e.contains("target-stderr.txt"), "{e}");
    let text = String::from_utf8(log.contents().unwrap()).unwrap();
    assert!(text.starts_with("[aite: start 1 of `sh -c ") && text.ends_with("loading model\nNPU lost: DMA timeout\n"), "{text}");
    assert_eq!(log.starts(), 1);

    // A chatty wrapper: the pipe is drained all the time (it never blocks) and the log keeps the
    // last 64 KiB, saying how much it dropped.
    let chatty = wrapper("head -c 300000 /dev/zero | tr \"\\\\0\" x >&2; echo >&2; echo last words >&2; read h; exit 4");
    let log = aite_remote::WrapperLog::default();
    let mut t = CommandTarget::connect_logged(&chatty, Duration::from_secs(5), None, Some(log.clone())).unwrap();
    let e = t.infer(&input()).unwrap_err().to_string();
    assert!(e.contains("last words"), "{e}");
    let kept = log.contents().unwrap();
    let text = String::from_utf8_lossy(&kept);
    let dropped = 300_000 + "[aite: start 1 of ``]\n".len() + chatty.len() - "cmd:".len() - 2 + 1 + "last words\n".len() - aite_remote::WrapperLog::LIMIT;
    assert!(text.starts_with(&format!("[aite: the first {dropped} bytes were dropped; the last 65536 are kept]\n")), "expected {dropped}: {}", &text[..100]);
    assert!(text.ends_with("xxx\nlast words\n"), "{}", &text[text.len() - 40..]);
}

#[test]
fn a_daemon_gone_mid_run_is_a_refused_request_naming_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("npu.sock");
    daemon(&path, vec![vec![Daemon::Answer, Daemon::Close]]);
    let url = socket_url(&path);
    let mut t = connect(&url);
    t.infer(&input()).unwrap();
    assert!(t.infer(&input()).unwrap_err().to_string().contains("closed the connection before answering"));
    // The daemon went away with its socket file: reconnecting is a refused request, named.
    std::fs::remove_file(&path).unwrap();
    let e = t.infer(&input()).unwrap_err().to_string();
    assert!(e.starts_with(&format!("inference failed on {url}: refused: no socket at `{}`", path.display())), "{e}");
    let c = t.request_counts().unwrap();
    assert_eq!((c.ok, c.reset, c.refused), (1, 1, 1));
}
