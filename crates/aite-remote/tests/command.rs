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
    let mut t = CommandTarget::connect(&u, Duration::from_millis(500), None).unwrap_or_else(|e| panic!("{e}"));
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
