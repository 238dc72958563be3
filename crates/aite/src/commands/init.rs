//! `aite init --class CLASS`: a commented `aite.toml` to fill in, which
//! `aite run` reads (see `crate::config` for every key).

use crate::cli::InitArgs;
use anyhow::{Context, Result};

/// The commented template; `{class}` and `{fps}` are filled in.
const TEMPLATE: &str = r#"# aite run configuration (schema aite.config/v1): edit, then `aite run -c {file}`.
# Relative paths are relative to this file. Unknown keys are errors.
schema = "aite.config/v1"

# The assessment profile: a shipped one (ai-camera, edge-server, industrial-vision) or a
# lab profile file that `extends` one and overrides thresholds ([[override]] with its
# provenance). Every override is recorded in assessment.json. See `aite profile show {class}`.
profile = "{class}"

# Where evidence packages are written (one folder per run).
out = "aite-runs"

# The terminal under test, as its nameplate and firmware say (recorded in every report).
[terminal]
manufacturer = ""
model = ""
hardware_revision = ""
serial = ""
firmware_version = ""

# Who runs the assessment (ISO/IEC 17025 7.8.2): on the report's cover; the signer is --signer.
[lab]
name = ""
address = ""
location = ""
operator = ""

# What the manufacturer declares (EU AI Act Art. 15(3): declared accuracy levels).
# The profile compares measured values with these (`declared:KEY` thresholds).
[declared]
# top1_accuracy = 0.85   # top-1 accuracy as a fraction; until declared, its requirement is NOT_TESTED
# detection_ap = 0.35    # a detector's COCO AP@[.5:.95] on [dataset].labels; until declared, NOT_TESTED
# fps = {fps}         # frames per second the terminal processes (typical of the class): sets the
                       # periodic scenario and its frame-period threshold; until declared, NOT_TESTED

# The deployed model, run on this machine by a local engine (tract: pure Rust; ort: ONNX Runtime).
[target]
engine = "tract"
model = "model.onnx"
# url = "oip+http://192.168.1.20:8000/models/detector"   # instead of `model`: the device serves
#                                                        # the model (Open Inference Protocol, KServe v2)
# reference_model = "model_fp32.onnx"   # the model before quantisation: agreement and its accuracy
threads = 1
batch = 4                               # batch size of the batch-invariance check

# Labeled images and preprocessing (a preset from `aite presets`, a TOML file, or key=value pairs).
[dataset]
path = "labels.csv"
# preprocess = "imagenet-tf224"
# limit = 1000
# What the model's outputs mean (`aite presets`): default classifier. A detector preset such as
# "ultraface-slim320" (or "ultraface-rfb320,score_threshold=0.8", a TOML file, or a
# [dataset.task] table) runs the detector suites: COCO AP against `labels`, the corruption
# sweep (mPC/rPC), consistency on decoded detections. `path` may then be a plain folder of frames.
# task = "ultraface-slim320"
# labels = "instances.json"   # COCO instances JSON, or a folder of YOLO txt files (one per frame)

# Suite sizes. A suite runs when the profile needs it; `enabled = false` skips it (NOT_TESTED).
[suites.latency]
duration_ms = 10000      # single-stream run, at least this long
min_queries = 1024
frames = 64              # dataset frames cycled through decode, preprocessing and inference

[suites.periodic]
# fps = 15               # default: declared.fps
burst_frames = 10
idle_ms = 2000.0
min_queries = 200

[suites.robustness]
consistency_frames = 100
repeats = 3
corruptions = "all"      # all | imagenet-c | camera | a comma list
severities = [1, 2, 3, 4, 5]
corruption_frames = 100
attack_frames = 40
attack_budget = 1000     # queries per frame (Square and SPSA L-inf; the noise baseline at most 100)
epsilon_255 = 8.0        # L-inf radius in 1/255 pixel units

# The basic security layer, static part: the firmware image, rootfs archive or folder.
[suites.security]
# image = "firmware.bin"
# osv = "osv-feed.zip"          # offline OSV feed for known vulnerabilities
# model_keys = ["model.pub"]    # keys trusted to sign the model artifacts

# The running terminal's network surface (`aite probe`): non-destructive checks of its ports.
# Only loopback is reached unless allow_network covers the address.
[suites.network]
# target = "192.168.1.20"
# ports = "all"                 # or "22,80,443,554,8000-8010"
# declared = "80,443,554"       # the ports the manufacturer declares
# allow_network = ["192.168.1.0/24"]
"#;

pub fn run(a: InitArgs) -> Result<u8> {
    if a.output.exists() {
        anyhow::bail!("{} exists; aite init does not overwrite (choose another path with --output)", a.output.display());
    }
    let fps = match a.class.as_str() {
        "edge-server" => "30.0",
        "industrial-vision" => "60.0",
        _ => "15.0",
    };
    let file = a.output.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| "aite.toml".into());
    let text = TEMPLATE.replace("{class}", &a.class).replace("{fps}", fps).replace("{file}", &file);
    // The template must stay readable by `aite run`.
    crate::config::RunConfig::parse(&a.output, &text).context("the built-in template does not parse (a bug in aite)")?;
    aite_evidence::write_atomic(&a.output, text.as_bytes())?;
    eprintln!("wrote {} for class {}: fill in [terminal], [declared], [target] and [dataset], then `aite run -c {}`", a.output.display(), a.class, a.output.display());
    Ok(0)
}
