//! Command-line definitions. Help texts teach the domain, not just the flags.

use crate::exit::EXIT_CODES_HELP;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "aite",
    version,
    about = "AI Terminal Evaluation: evidence-grade conformity testing of AI cameras, edge AI servers and vision terminals",
    long_about = "aite measures the mandatory assessment items for AI terminals (local inference latency, \
model robustness, basic security) and writes signed-ready evidence: a run folder with results.json, raw \
samples, configuration, environment fingerprint and a SHA-256 manifest.\n\n\
Start with `aite demo`: it evaluates the reference terminal built into this binary and needs no files.",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Evaluate the bundled reference terminal (no files needed): `aite run` on the embedded
    /// terminal with its profile; prints the gap analysis and writes a signed evidence package.
    #[command(after_help = EXIT_CODES_HELP)]
    Demo(DemoArgs),
    /// Run every suite a profile needs on one terminal (from `aite.toml`), assess it, and write
    /// one evidence package (assessment.json beside results.json). Ctrl-C, then the same
    /// command again, resumes; the exit code is the overall verdict's.
    #[command(long_about = RUN_LONG_ABOUT, after_help = EXIT_CODES_HELP)]
    Run(RunArgs),
    /// Write a commented `aite.toml` for a device class, to edit and give to `aite run`.
    Init(InitArgs),
    /// Assess an existing evidence package (its results.json) against a profile and
    /// write assessment.json into it; the exit code is the overall verdict's.
    #[command(after_help = EXIT_CODES_HELP)]
    Assess(AssessArgs),
    /// Describe a model file: format, opsets, tensors, operators, parameters, quantization, SHA-256.
    #[command(after_help = EXIT_CODES_HELP)]
    Inspect(InspectArgs),
    /// Top-1/top-k accuracy of a classifier on a labeled dataset.
    #[command(after_help = EXIT_CODES_HELP)]
    Accuracy(AccuracyArgs),
    /// Local inference response latency, as MLPerf LoadGen defines it, plus a periodic camera scenario.
    #[command(long_about = LATENCY_LONG_ABOUT, after_help = EXIT_CODES_HELP)]
    Latency(LatencyArgs),
    /// Model robustness: failure-mode consistency, common corruptions (ImageNet-C and camera
    /// shifts) and black-box adversarial attacks (Square, HopSkipJump), with checkpoints and shards.
    #[command(long_about = ROBUSTNESS_LONG_ABOUT, after_help = EXIT_CODES_HELP)]
    Robustness(RobustnessArgs),
    /// Basic security layer, static part: unpack a firmware image or root filesystem and check
    /// ELF hardening, credentials and file modes; findings as tables, results.json and SARIF.
    #[command(long_about = SECURITY_LONG_ABOUT, after_help = EXIT_CODES_HELP)]
    Security(SecurityArgs),
    /// Basic security layer, network part: probe a running terminal's TCP ports, services,
    /// TLS, SSH, telnet, HTTP Basic defaults and inference API (loopback only unless
    /// --allow-network); findings as results.json and SARIF.
    #[command(long_about = PROBE_LONG_ABOUT, after_help = EXIT_CODES_HELP)]
    Probe(ProbeArgs),
    /// Sign a model file or folder (OpenSSF Model Signing: in-toto statement in a DSSE
    /// envelope, Ed25519 or ECDSA P-256/P-384 key, offline).
    #[command(long_about = SIGN_LONG_ABOUT, after_help = EXIT_CODES_HELP)]
    Sign(SignArgs),
    /// Verify a model file or folder against its OpenSSF Model Signing signature.
    #[command(name = "verify-model", long_about = VERIFY_MODEL_LONG_ABOUT, after_help = EXIT_CODES_HELP)]
    VerifyModel(VerifyModelArgs),
    /// Make an Ed25519 key pair for signing evidence packages: KEY.pem (PKCS#8, mode 0600)
    /// and KEY.pub.pem (to give to whoever verifies).
    #[command(after_help = EXIT_CODES_HELP)]
    Keygen(KeygenArgs),
    /// Sign an evidence package (run folder): an in-toto statement listing every file's SHA-256,
    /// the signer and the time, in a DSSE envelope (Ed25519), written as evidence.intoto.dsse.json.
    #[command(name = "sign-evidence", long_about = SIGN_EVIDENCE_LONG_ABOUT, after_help = EXIT_CODES_HELP)]
    SignEvidence(SignPackageArgs),
    /// Verify a signed evidence package offline: the signature, then every file; names each
    /// changed, missing or extra file.
    #[command(long_about = VERIFY_LONG_ABOUT, after_help = EXIT_CODES_HELP)]
    Verify(VerifyArgs),
    /// Write corrupted copies of images (every corruption x severity) and a contact sheet.
    Corrupt(CorruptArgs),
    /// Read the text in images with PP-OCR (DB text detection, optional direction classifier,
    /// CTC recognition over the charset in the recogniser's metadata), one JSON line per text line.
    #[command(after_help = EXIT_CODES_HELP)]
    Ocr(OcrArgs),
    /// Merge the results of the shards of one robustness sweep (`--shard I/N`) into one run.
    Merge(MergeArgs),
    /// List the built-in preprocessing presets (-p) and task presets (--task: name, task, what).
    Presets,
    /// Assessment profiles (requirements, thresholds with their provenance, decision
    /// rules, clauses): show a shipped profile or a lab's file, or check a file.
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    Profile(ProfileCommand),
    /// Re-render the reports of an evidence package from its files: report.html, junit.xml,
    /// oscal-ar.json + oscal-ap.json, bom.cdx.json (and report.pdf with --pdf); then re-write manifest.json.
    #[command(after_help = EXIT_CODES_HELP)]
    Report(ReportArgs),
    /// Runs recorded in the history database (terminal, firmware, profile, overall verdict,
    /// package); `aite history record DIR` adds an existing evidence package.
    #[command(long_about = HISTORY_LONG_ABOUT)]
    History(HistoryArgs),
    /// Compare two recorded runs: verdict changes, changed inputs, accuracy and latency deltas
    /// with their significance, new and fixed security findings.
    #[command(long_about = DIFF_LONG_ABOUT)]
    Diff(DiffArgs),
    /// Internal: measure cold start in this fresh process and print JSON (used by `latency --cold-start-process`).
    #[command(name = "__cold-start", hide = true)]
    ColdStart(ModelArgs),
}

/// `aite report DIR`
#[derive(Args)]
pub struct ReportArgs {
    /// The run folder (evidence package) with results.json and assessment.json.
    pub dir: PathBuf,
    /// Also print report.pdf with headless Chromium (chromium-headless-shell or chromium on PATH).
    #[arg(long)]
    pub pdf: bool,
    /// A lab's minijinja template for report.html instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
}

/// `aite profile ...`
#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Print a profile's requirements: item, metric, comparator and threshold, decision
    /// rule and the threshold's provenance (provisional values are aite's, not the guideline's).
    Show {
        /// A shipped profile (ai-camera, edge-server, industrial-vision, reference-terminal) or a profile file.
        profile: String,
    },
    /// Validate a profile file (and what it extends); every problem is printed as
    /// FILE:LINE: message, exit 3.
    Check {
        /// The profile file (TOML).
        file: PathBuf,
    },
}

const LATENCY_LONG_ABOUT: &str = "\
Measure local inference response latency as MLPerf LoadGen defines it.

Scenarios:
  single-stream  one sample per query; the next query starts when the previous completes
  multi-stream   --samples-per-query samples per query; latency until all complete
  server         Poisson arrivals at --qps; latency counted from the *scheduled* time, so
                 queueing behind slow queries is measured (no coordinated omission)
  offline        one query with every sample, issued at once (batched on a batch axis, else
                 up to the target's concurrency); figure of merit is throughput
  periodic       a camera: frames at --fps in bursts of --burst, separated by --idle-ms;
                 the first frame after each idle gap is reported on its own

Percentiles are LoadGen's: sorted x[floor(n*p)]. The early-stopping estimate (confidence 0.99)
needs at least 64 queries for p90 and 662 for p99. A run is VALID when the minimum duration and
query count are met and early stopping gives an estimate (server: the bound is met).

With --dataset and --end-to-end, each query is a frame in to result out: decode, preprocess,
inference, postprocess, each timed. Without --dataset, seeded random tensors of the model's input
shape are used (bare inference).

Examples:
  aite latency --model resnet8.onnx
  aite latency --model mobilenet_v2.onnx --dataset imagenet-sample/labels.csv \\
      --preprocess imagenet-tf224 --end-to-end --scenario server --qps 50 --latency-bound-ms 30
  aite latency --model vww96.onnx --scenario periodic --fps 15 --burst 10 --idle-ms 2000";

const ROBUSTNESS_LONG_ABOUT: &str = "\
Failure-mode consistency of a classifier, on real frames:

  repeatability       the same input N times must give bit-identical outputs
  batch invariance    batch 1 against batch N (when the model has a symbolic batch axis)
  agreement           reference vs deployed model (--reference: e.g. fp32 vs int8 QDQ, or
                      --reference-engine: tract vs ONNX Runtime): top-1 agreement, max/mean
                      score difference, SQNR and every disagreeing sample
  degenerate frames   black, white, noise, saturated, NaN/Inf and wrong-size inputs: the
                      terminal must answer without NaN or refuse cleanly, never crash
  metamorphic         +-5% brightness and 1-pixel shifts should not change the class;
                      the flip rate is reported (ImageNet-P style)

Input distribution shift (--corruptions): the 15 ImageNet-C corruptions, the 4 held-out
ones and 9 camera shifts, 5 severities each, with the published ImageNet-C / CIFAR-10-C
parameters (chosen by the corrupted image's size, or --table). As the ImageNet-C protocol, the
ImageNet-C and held-out corruptions are applied to the 8-bit image at the model's input size,
after crop/resize and before normalisation; camera shifts to the decoded frame (--corrupt-at
input|frame changes both). Reported: accuracy per corruption x severity with
Wilson 95% intervals, mean corruption accuracy, degradation from clean, and on ImageNet
labels (1000/1001 outputs) CE, mCE and relative mCE normalised by AlexNet.

Adversarial perturbations (--attacks): the Square attack (score-based, L-inf and L2, AutoAttack
settings: p_init 0.8, margin loss, --queries 5000, 1 restart; eps 8/255 up to 64 px, 4/255 above,
L2 0.5), SPSA (gradient estimation + projected Adam steps, L-inf and L2: a second attack family),
HopSkipJump (label-only) and a random-noise baseline at the same eps. Every model call is
counted against a hard per-sample budget. Robust accuracy is AutoAttack's (correct after attack /
all samples; attack_worst_case: broken by no attack of its norm and eps, one per threat model); the attack success rate is
over clean-correct samples. The frames found are re-checked after 8-bit quantisation and JPEG
(quality 90), as a camera would deliver them; --channel uint8 runs the whole attack through that
channel.

Long sweeps checkpoint every finished cell (and attacked sample) under <out>/.checkpoints/; after Ctrl-C, run the
same command again to resume (--fresh starts over). --shard I/N runs a deterministic part;
`aite merge` combines the parts into the result of one run.

Examples:
  aite robustness -m mobilenet_v2_int8_qdq.onnx --reference mobilenet_v2_fp32.onnx \\
      -d imagenet-sample/labels.csv -p imagenet-tf224 --samples 200
  aite robustness -m resnet8_fp32.onnx -d ic01/labels.csv -p cifar10-resnet8 \\
      --corruptions imagenet-c --no-consistency --shard 0/2";

const SECURITY_LONG_ABOUT: &str = "\
Examine what a device ships: a root filesystem folder, a tar/cpio archive (plain, gzip, xz or
zstd), a squashfs image, a uImage, or a raw flash dump containing those (found by signature).

Extraction is hostile-input safe: paths that would leave the image are skipped, symlinks,
device nodes and setuid bits are recorded but never created on disk, sizes and entry counts
are bounded (--max-bytes, --max-files). A coverage report says which parts of the input were
extracted, found but not understood, or never claimed by any known format: findings cover
only what was examined.

Checks: ELF hardening of every binary and library (RELRO, stack canary, NX, PIE, RPATH and
RUNPATH, symbols, FORTIFY counted against the image's own libc) with Debian checksec's
rules; accounts in passwd/shadow and web password files (empty passwords, UID 0, hashes
verified against well-known default passwords with real DES/MD5/SHA-crypt/bcrypt/yescrypt); setuid
and world-writable files; services started at boot (telnet, debuggers, console shells,
sshd root login); private keys and certificates (also inside binaries: strength against
the 112-bit floor, expiry, self-signed) and authorized_keys; model artifacts (pickle
imports, Keras Lambda, ONNX external data and custom ops, TFLite custom ops) and their
OpenSSF Model Signing signatures (<file>.sig or model.sig beside them, --model-key). Each finding carries its severity, evidence and the clauses it
evidences (ETSI EN 303 645, EN 18031-1). Rules that found nothing are recorded as passes.

Components: packages from the dpkg, opkg and apk databases and well-known binaries by
version string (BusyBox, OpenSSL, Dropbear, lighttpd, the kernel) go into a CycloneDX 1.5
SBOM (sbom.cdx.json) and are matched against the OSV feed given with --osv, offline.

The run folder gets results.json, findings.sarif (SARIF 2.1.0, passes as kind=pass),
sbom.cdx.json, elf-hardening.csv, keys.csv and coverage.json. Exit code 1 when a critical or high finding
fails.

Examples:
  aite security armcam-full.squashfs
  aite security rootfs/ --json > security.json
  aite security firmware.bin --osv osv/Debian.zip --model-key release.pub.pem";

const SIGN_LONG_ABOUT: &str = "\
Sign a model release in the OpenSSF Model Signing format (v1.0 predicate), the one the
`model_signing` package writes and verifies: every file of the model is hashed (SHA-256),
the list goes into an in-toto statement, and the statement is signed in a DSSE envelope
inside a Sigstore bundle. Key-based and offline; no transparency log.

The signature goes to <folder>/model.sig for a folder, <file>.sig for a single file, or
--signature. Keys: PEM Ed25519, ECDSA P-256 or P-384 (PKCS#8 or SEC1), e.g.
  openssl genpkey -algorithm ed25519 -out release.key
or let aite make one with --generate-key (the public half is written beside it).

Examples:
  aite sign models/detector/ --key release.key
  aite sign mobilenet_v2_int8_qdq.onnx --generate-key release.key
  aite verify-model models/detector/ --public-key release.pub.pem";

const VERIFY_MODEL_LONG_ABOUT: &str = "\
Verify a model file or folder against its OpenSSF Model Signing signature (bundles written
by `model_signing` 0.3 to 1.1 or by `aite sign`). The signature must verify with the public
key, and the files must be exactly the signed ones: changed, missing and unsigned files are
listed. Bundles that carry a certificate (x509 chain or Sigstore) are checked against the
certificate's key when no --public-key is given; the chain, signer identity and
transparency log need trust roots and are not checked offline.

Exit code 0 when verified, 1 when not (bad signature, changed files, malformed bundle),
3 when a file cannot be read.

Examples:
  aite verify-model models/detector/ --public-key release.pub.pem
  aite verify-model model.onnx --signature model.onnx.sig --public-key release.pub.pem --json";

/// Arguments of `aite sign`.
#[derive(Args, Clone, Debug)]
pub struct SignArgs {
    /// Model file or folder to sign.
    pub model: PathBuf,
    /// Private key (PEM: Ed25519, ECDSA P-256 or P-384).
    #[arg(long, required_unless_present = "generate_key", conflicts_with = "generate_key")]
    pub key: Option<PathBuf>,
    /// Make a new Ed25519 key, write it here (and its public key to <name>.pub.pem), and sign with it.
    #[arg(long)]
    pub generate_key: Option<PathBuf>,
    /// Where to write the signature (default: <folder>/model.sig or <file>.sig).
    #[arg(long)]
    pub signature: Option<PathBuf>,
    /// Paths inside the model folder to leave out (repeatable); .git* are always left out.
    #[arg(long = "ignore")]
    pub ignore: Vec<String>,
}

/// Arguments of `aite verify-model`.
#[derive(Args, Clone, Debug)]
pub struct VerifyModelArgs {
    /// Model file or folder.
    pub model: PathBuf,
    /// Signature bundle (default: <folder>/model.sig or <file>.sig).
    #[arg(long)]
    pub signature: Option<PathBuf>,
    /// Public key (PEM SubjectPublicKeyInfo) or certificate of the signer.
    #[arg(long)]
    pub public_key: Option<PathBuf>,
    /// Paths inside the model folder to leave out, besides those the signature lists (repeatable).
    #[arg(long = "ignore")]
    pub ignore: Vec<String>,
    /// Print the verification as JSON.
    #[arg(long)]
    pub json: bool,
}

const SIGN_EVIDENCE_LONG_ABOUT: &str = "\
Sign an evidence package (a run folder) so that anyone holding the public key can check,
offline, that no file changed since, and who signed it when (EU AI Act Annex IV 2(g): test
reports dated and signed by the responsible persons).

Every regular file of the folder (recursively; dot-entries such as .state/ are not evidence)
is listed with its SHA-256 in an in-toto Statement v1 whose predicate
(https://aite.dev/evidence/v1) names the signer, the signing time (UTC), the aite version,
the key id and the run's id, status and overall verdict. The statement is signed in a DSSE
envelope (PAE, Ed25519) written as <DIR>/evidence.intoto.dsse.json. Symbolic links and a
manifest.json that no longer matches the files are refused. Format: docs/evidence.md.

Examples:
  aite keygen --out lab.pem
  aite sign-evidence aite-runs/20261201-093000-run --key lab.pem --signer \"Jane Doe, Test Engineer\"
  aite verify aite-runs/20261201-093000-run --public-key lab.pub.pem";

const VERIFY_LONG_ABOUT: &str = "\
Verify a signed evidence package offline: the DSSE signature over the in-toto statement with
the given Ed25519 public key, then the SHA-256 of every file the statement lists. Each changed,
missing and extra file (a file not in the statement; dot-entries are not evidence) is named,
with the signer and signing time.

Exit code 0 when VERIFIED; 10 when the package does not verify (TAMPERED, BAD_SIGNATURE,
MALFORMED envelope, or UNSIGNED: no evidence.intoto.dsse.json); 3 when the key or a file
cannot be read.

Examples:
  aite verify aite-runs/20261201-093000-run --public-key lab.pub.pem
  aite verify package/ --public-key lab.pub.pem --json";

/// Arguments of `aite keygen`.
#[derive(Args, Clone, Debug)]
pub struct KeygenArgs {
    /// Private key file to write (its public key goes to the same name with .pub.pem); never overwritten.
    #[arg(long, value_name = "KEY.pem")]
    pub out: PathBuf,
}

/// Arguments of `aite sign-evidence`.
#[derive(Args, Clone, Debug)]
pub struct SignPackageArgs {
    /// The evidence package (run folder).
    pub dir: PathBuf,
    /// Ed25519 private key (PKCS#8 PEM, from `aite keygen` or `openssl genpkey -algorithm ed25519`).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Who signs, as "Name, Role".
    #[arg(long)]
    pub signer: String,
}

/// Arguments of `aite verify`.
#[derive(Args, Clone, Debug)]
pub struct VerifyArgs {
    /// The evidence package (run folder).
    pub dir: PathBuf,
    /// The signer's Ed25519 public key (PEM SubjectPublicKeyInfo, KEY.pub.pem).
    #[arg(long, value_name = "KEY.pub.pem")]
    pub public_key: PathBuf,
    /// Print the verification as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How to turn a model file into a target.
#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// Model file (.onnx, or float .tflite on tract), or a remote target URL
    /// (`--target oip+http://HOST:PORT/models/NAME[/versions/V]`, or `--target 'cmd:PROGRAM ARGS'`
    /// for a wrapper program speaking aite-cmd/1 on stdin/stdout; docs/remote.md).
    #[arg(long, short, visible_alias = "target", value_name = "FILE|URL")]
    pub model: PathBuf,
    /// Inference engine.
    #[arg(long, value_enum, default_value_t = EngineArg::Tract)]
    pub engine: EngineArg,
    /// Engine intra-op threads (recorded in the evidence).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Value for symbolic dimensions such as the batch axis.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Full shape of the first input for models with dynamic height/width, e.g. 1,3,480,640.
    #[arg(long, value_delimiter = ',')]
    pub input_shape: Option<Vec<usize>>,
    /// Remote targets: deadline of each request in milliseconds, connecting included.
    #[arg(long, default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// Remote targets: how tensors travel (auto = binary when the server advertises it).
    #[arg(long, value_enum, default_value_t = TransferArg::Auto)]
    pub transfer: TransferArg,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferArg {
    /// Binary tensors when the server advertises `binary_tensor_data`, else JSON.
    Auto,
    /// JSON `data` arrays.
    Json,
    /// The binary tensor data extension.
    Binary,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineArg {
    /// tract, pure Rust (default; cross-compiles to ARM devices).
    Tract,
    /// ONNX Runtime, loaded from ORT_DYLIB_PATH or the PyPI `onnxruntime` wheel (build with --features ort).
    Ort,
}

/// Where the evidence goes and how the summary is printed.
#[derive(Args, Clone, Debug)]
pub struct OutputArgs {
    /// Folder that receives one run folder per run.
    #[arg(long, default_value = "aite-runs")]
    pub out: PathBuf,
    /// Print results.json to stdout instead of tables (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
}

/// Dataset and preprocessing.
#[derive(Args, Clone, Debug)]
pub struct DataArgs {
    /// Labeled images: a CSV manifest (path,label[,...], paths relative to it) or an ImageFolder tree.
    #[arg(long, short)]
    pub dataset: Option<PathBuf>,
    /// Preprocessing: a preset name (see `aite presets`), a TOML file, or key=value pairs,
    /// e.g. `crop_fraction=0.875,resize=224x224,mean=128,std=128,label_offset=1`.
    /// Default: resize to the model's input size, RGB 0..255 (printed and recorded).
    #[arg(long, short)]
    pub preprocess: Option<String>,
    /// Use only the first N samples of the dataset.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Fail on the first undecodable image instead of counting and skipping it.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Model file (.onnx or .tflite).
    pub model: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct AccuracyArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// The k of top-k.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// What the outputs mean, as `aite latency --task`; a detector (e.g. ultraface-slim320) is
    /// scored with COCO's protocol against --labels: AP@[.5:.95], AP50, AP75, AR, per class,
    /// recall at fixed false positives per image.
    #[arg(long)]
    pub task: Option<String>,
    /// A detector's labels: a COCO instances JSON file (images[].file_name matched to the
    /// frames of --dataset), or a folder of YOLO txt files (one <stem>.txt per frame,
    /// `class cx cy w h` normalised, optional classes.txt).
    #[arg(long, value_name = "FILE|DIR")]
    pub labels: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub assess: AssessWith,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScenarioArg {
    SingleStream,
    MultiStream,
    Server,
    Offline,
    Periodic,
}

#[derive(Args)]
pub struct LatencyArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, value_enum, default_value_t = ScenarioArg::SingleStream)]
    pub scenario: ScenarioArg,
    /// Multi-stream: samples per query (MLPerf uses 8).
    #[arg(long, default_value_t = 8)]
    pub samples_per_query: usize,
    /// Server: offered queries per second (Poisson). Offline: the expected throughput,
    /// which sizes the one query (1.1 x qps x min duration samples, at least --min-queries).
    #[arg(long)]
    pub qps: Option<f64>,
    /// Server: latency bound the percentile must meet (ms).
    #[arg(long)]
    pub latency_bound_ms: Option<f64>,
    /// Periodic: camera frame rate.
    #[arg(long, default_value_t = 30.0)]
    pub fps: f64,
    /// Periodic: frames per burst.
    #[arg(long, default_value_t = 10)]
    pub burst: usize,
    /// Periodic: idle gap before each burst (ms).
    #[arg(long, default_value_t = 1000.0)]
    pub idle_ms: f64,
    /// Minimum measured duration (ms); LoadGen's default is 10 s, MLPerf submissions use 600 s.
    #[arg(long)]
    pub min_duration_ms: Option<u64>,
    /// Minimum query count (LoadGen default 100).
    #[arg(long)]
    pub min_queries: Option<u64>,
    /// Stop after this many queries (0 = no cap).
    #[arg(long)]
    pub max_queries: Option<u64>,
    /// Stop after this wall time in ms (0 = no cap).
    #[arg(long)]
    pub max_duration_ms: Option<u64>,
    /// Percentile of the metric (default: 0.90 single-stream/periodic, 0.99 multi-stream/server).
    #[arg(long)]
    pub percentile: Option<f64>,
    /// Unrecorded warm-up queries.
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Seed for sample order, the Poisson schedule and synthetic inputs.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Settings file (TOML: min_duration_ms, min_queries, max_queries, max_duration_ms, percentile, warmup_queries, seed).
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// Samples kept in memory for the run (LoadGen's performance sample count).
    #[arg(long, default_value_t = 64)]
    pub samples: usize,
    /// Time frame in to result out (decode, preprocess, inference, postprocess); needs --dataset.
    #[arg(long)]
    pub end_to_end: bool,
    /// What the outputs mean, so the postprocess stage does the model's real decoding: a preset
    /// (classifier, ultraface-rfb320, ultraface-slim320, ultraface-320-raw, blazeface-short, reference-detector, yolov5, yolov8, ssd-tf, ppocr-v4;
    /// `aite presets`), a TOML file or
    /// key=value pairs (`ultraface-rfb320,score_threshold=0.9`); default classifier. Needs --end-to-end.
    #[arg(long)]
    pub task: Option<String>,
    /// With `--task ppocr-v4`: the PP-OCR recogniser (charset in its metadata), so each query is
    /// the whole OCR read of a frame (-m is then the text detector), split into named stages.
    #[arg(long, value_name = "FILE")]
    pub rec: Option<PathBuf>,
    /// With --rec: the direction classifier of the OCR read.
    #[arg(long, value_name = "FILE")]
    pub cls: Option<PathBuf>,
    /// Measure model load and first-inference latency in this process.
    #[arg(long)]
    pub cold_start: bool,
    /// Measure cold start in a fresh child process (implies --cold-start).
    #[arg(long)]
    pub cold_start_process: bool,
    /// Run the caching audit (LoadGen TEST04): repeated vs distinct samples.
    #[arg(long)]
    pub audit: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub assess: AssessWith,
}

const RUN_LONG_ABOUT: &str = "Run every suite the profile in aite.toml needs (latency, robustness, \
security), assess the results against it and write one evidence package: results.json, \
assessment.json (every requirement's verdict, value, interval, threshold, decision rule, clauses \
and evidence pointers), raw CSVs, SARIF, configuration, environment and a SHA-256 manifest; \
optionally signed (--sign) and recorded in the history database.\n\n\
The terminal output starts with the gap analysis: per mandatory item the count of each \
verdict, then the failing and inconclusive requirements with value, threshold and remediation.\n\n\
Resuming: a finished suite is kept in the package's .state/ folder; after Ctrl-C (or a crash) \
the same command continues the same package and runs only what is left (--fresh starts anew). \
A suite that fails is ERROR for its requirements and the others still run.";

/// `aite run`
#[derive(Args)]
pub struct RunArgs {
    /// The run configuration (write one with `aite init --class ai-camera`).
    #[arg(long, short, default_value = "aite.toml")]
    pub config: PathBuf,
    /// Folder receiving the evidence package (default: `out` in aite.toml, else aite-runs).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print assessment.json to stdout instead of the gap analysis (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    /// Start a new package even when an unfinished one for this configuration exists.
    #[arg(long)]
    pub fresh: bool,
    #[command(flatten)]
    pub sign: SignEvidenceArgs,
    #[command(flatten)]
    pub history: HistoryDbArgs,
}

/// Signing the package as it is written.
#[derive(Args, Clone, Debug)]
pub struct SignEvidenceArgs {
    /// Sign the package with this Ed25519 private key (PKCS#8 PEM, from `aite keygen`).
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Who signs, as "Name, Role" (required with --sign; Annex IV 2(g): reports signed by the responsible persons).
    #[arg(long, requires = "sign")]
    pub signer: Option<String>,
}

/// Where runs are recorded.
#[derive(Args, Clone, Debug)]
pub struct HistoryDbArgs {
    /// History database (default: $AITE_HISTORY_DB, else the user's data folder; see docs/history.md).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Do not record this run in the history database.
    #[arg(long)]
    pub no_history: bool,
}

/// `aite init`
#[derive(Args)]
pub struct InitArgs {
    /// Device class: the shipped profile the configuration starts from.
    #[arg(long, value_parser = ["ai-camera", "edge-server", "industrial-vision"], default_value = "ai-camera")]
    pub class: String,
    /// Where to write it (refuses to overwrite).
    #[arg(long, short, default_value = "aite.toml")]
    pub output: PathBuf,
}

/// Judging a single-suite run against a profile.
#[derive(Args, Clone, Debug)]
pub struct AssessWith {
    /// Judge what this command measured against a profile (shipped name or file): writes
    /// assessment.json into the run folder, prints the gap analysis, and the exit code becomes
    /// the verdict's (0 PASS, 1 FAIL, 7 INCONCLUSIVE, 8 NOT_TESTED, 9 ERROR). Requirements
    /// of suites this command does not run are listed as out of scope, not counted.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
}

/// `aite assess`
#[derive(Args)]
pub struct AssessArgs {
    /// The evidence package (a run folder with results.json).
    pub package: PathBuf,
    /// A shipped profile (ai-camera, edge-server, industrial-vision, reference-terminal) or a profile file.
    #[arg(long, short)]
    pub profile: String,
    /// Print assessment.json instead of the gap analysis.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Inference engine for the reference terminal.
    #[arg(long, value_enum, default_value_t = EngineArg::Tract)]
    pub engine: EngineArg,
    /// Short run (about a second of latency measurement) for smoke tests.
    #[arg(long)]
    pub quick: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Sign the package with this key instead of a fresh demo key (written beside the package).
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Who signs, as "Name, Role".
    #[arg(long, default_value = "aite demo, automated run")]
    pub signer: String,
    #[command(flatten)]
    pub history: HistoryDbArgs,
}

#[derive(Args)]
pub struct RobustnessArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Reference model the deployed one (--model) is compared with (same preprocessing).
    #[arg(long)]
    pub reference: Option<std::path::PathBuf>,
    /// Engine for the reference (default: the same as --engine). With no --reference,
    /// a different engine compares the same model across engines.
    #[arg(long, value_enum)]
    pub reference_engine: Option<EngineArg>,
    /// A detector's labels for its corruption sweep (COCO instances JSON, or a folder of YOLO
    /// txt files, as `aite accuracy --labels`); without them the sweep scores against the
    /// --reference's or the model's own clean predictions (pseudo ground truth).
    #[arg(long, value_name = "FILE|DIR")]
    pub labels: Option<std::path::PathBuf>,
    /// Samples used by each check.
    #[arg(long, default_value_t = 100)]
    pub samples: usize,
    /// Repeats per sample for repeatability.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Batch size for batch invariance (needs a symbolic batch axis).
    #[arg(long, default_value_t = 4)]
    pub check_batch: usize,
    /// Seed for noise frames, corruptions and attacks (recorded in the evidence).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Corruptions to sweep: names, or the groups imagenet-c, held-out, camera, all; `none` skips.
    #[arg(long, default_value = "all")]
    pub corruptions: String,
    /// Severities to sweep (1..=5).
    #[arg(long, default_value = "1,2,3,4,5", value_delimiter = ',')]
    pub severities: Vec<u8>,
    /// Severity table: auto (CIFAR-10-C up to 64 px on the shorter side, ImageNet-C above),
    /// imagenet-c or cifar-c.
    #[arg(long, default_value = "auto")]
    pub table: String,
    /// Where corruptions are applied: auto (ImageNet-C and held-out on the 8-bit image at the
    /// model's input size after crop/resize, as the ImageNet-C protocol; camera shifts on the
    /// native frame), input, or frame (every corruption on the decoded frame before all
    /// preprocessing). Recorded per cell; mCE needs the input.
    #[arg(long, default_value = "auto")]
    pub corrupt_at: String,
    /// make_imagenet_c.py's last step: save each ImageNet-C and held-out image corrupted at the
    /// model input as JPEG quality 85 (4:2:0, libjpeg-exact) and read it back: auto (on when the
    /// model has ImageNet labels, i.e. when mCE is normalised by AlexNet), on or off.
    /// Recorded per cell; mCE needs it.
    #[arg(long, default_value = "auto")]
    pub imagenet_c_jpeg: String,
    /// Run only shard INDEX/COUNT (e.g. 0/4): its corruption cells and its attack samples (every
    /// COUNT-th from INDEX); with a detector --task, its frames (every COUNT-th) with every cell,
    /// AP recomputed from all frames by the merge. Shard 0 also runs the consistency checks.
    /// Combine with `aite merge`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Start the sweep over instead of resuming from its checkpoint.
    #[arg(long)]
    pub fresh: bool,
    /// Skip the failure-mode consistency checks.
    #[arg(long)]
    pub no_consistency: bool,
    /// What the outputs mean, as `aite latency --task` (a preset such as ultraface-rfb320 or
    /// blazeface-short, a TOML file or key=value pairs). A detector's consistency and corruption
    /// sweep (COCO AP, mPC/rPC against its own clean predictions) run on its decoded detections,
    /// its attacks (square-linf, square-l2) are the vanishing or mislabelling attacks of --detector-goal.
    #[arg(long)]
    pub task: Option<String>,
    /// Detections a detector may report on a degenerate frame (black, white, noise, saturated)
    /// before it is a finding; at least 3.
    #[arg(long)]
    pub degenerate_max_detections: Option<usize>,
    /// Black-box attacks: square-linf, square-l2, spsa-linf, spsa-l2, noise-linf, noise-l2,
    /// hopskipjump (groups: square, spsa, noise, all); `none` skips.
    #[arg(long, default_value = "square-linf,noise-linf")]
    pub attacks: String,
    /// Samples attacked (the first N of --samples; default 50, with a detector --task 10).
    #[arg(long)]
    pub attack_samples: Option<usize>,
    /// Hard per-sample query budget of the Square attack, SPSA and HopSkipJump (default 5000,
    /// AutoAttack's; with a detector --task 300: a detector query costs a full frame).
    #[arg(long)]
    pub queries: Option<usize>,
    /// Query budget of the random-noise baseline.
    #[arg(long, default_value_t = 100)]
    pub noise_queries: usize,
    /// L-inf radius in 0..1 pixel units, as a number or a fraction such as 8/255
    /// (default: 8/255 for inputs up to 64 px, 4/255 above, as RobustBench; 8/255 for a detector).
    #[arg(long)]
    pub eps_linf: Option<String>,
    /// L2 radius over the 0..1 image (default 0.5).
    #[arg(long)]
    pub eps_l2: Option<f32>,
    /// How perturbed frames reach the target during the attack: float, uint8 or jpeg:QUALITY.
    /// Whatever the choice, the frames the attack found are also checked after uint8 and JPEG.
    #[arg(long, default_value = "float")]
    pub channel: String,
    /// With a detector --task, what square-linf / square-l2 want: vanish (no detection left)
    /// or mislabel (every box found only as another class; multi-class detectors). Each
    /// carries its noise baseline at the same norm and --queries budget.
    #[arg(long, default_value = "vanish")]
    pub detector_goal: String,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub assess: AssessWith,
}

/// `aite ocr IMAGE... --det DET.onnx --rec REC.onnx [--cls CLS.onnx]`
#[derive(Args)]
pub struct OcrArgs {
    /// Images (JPEG, PNG, BMP); with --labels, the labelled images when none is given.
    pub images: Vec<PathBuf>,
    /// Text detector (DB), e.g. ch_PP-OCRv4_det_infer.onnx.
    #[arg(long, value_name = "FILE")]
    pub det: PathBuf,
    /// Text recogniser (CTC) with its charset in the metadata entry `character`, e.g. ch_PP-OCRv4_rec_infer.onnx.
    #[arg(long, value_name = "FILE")]
    pub rec: PathBuf,
    /// Text direction classifier (0 / 180 degrees), e.g. ch_ppocr_mobile_v2.0_cls_infer.onnx; without it no crop is turned.
    #[arg(long, value_name = "FILE")]
    pub cls: Option<PathBuf>,
    /// The OCR task: preset ppocr-v4 (rapidocr-onnxruntime 1.4.4's parameters), a TOML file, or ppocr-v4,key=value,...
    #[arg(long, default_value = "ppocr-v4")]
    pub task: String,
    /// Inference engine (tract plans one model per input shape; ONNX Runtime takes any shape).
    #[arg(long, value_enum, default_value_t = EngineArg::Tract)]
    pub engine: EngineArg,
    /// Engine intra-op threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Labels (PaddleOCR's Label.txt: PATH<TAB>[{"transcription", "points"}, ...] per image):
    /// character/word accuracy and 1 - NED, written as an evidence run folder.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Consistency: repeatability, degenerate frames, and agreement with --reference-engine.
    #[arg(long)]
    pub consistency: bool,
    /// Repeats per image for repeatability.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Reference pipeline for agreement: the same models (or --reference-det/-rec/-cls) on this engine.
    #[arg(long, value_enum)]
    pub reference_engine: Option<EngineArg>,
    /// The reference's detector, recogniser and classifier (e.g. fp32 for an int8 deployment); default: --det, --rec, --cls.
    #[arg(long, value_name = "FILE")]
    pub reference_det: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub reference_rec: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub reference_cls: Option<PathBuf>,
    /// Corruption sweep on text accuracy: names, or the groups imagenet-c, held-out, camera, all
    /// (against --labels, or the clean lines as pseudo ground truth).
    #[arg(long)]
    pub corruptions: Option<String>,
    /// Severities of the sweep (1..=5).
    #[arg(long, default_value = "1,2,3,4,5", value_delimiter = ',')]
    pub severities: Vec<u8>,
    /// Parameter table: auto (by image size), imagenet-c or cifar-c.
    #[arg(long, default_value = "auto")]
    pub table: String,
    /// Seed of the corruptions' noise, the degenerate noise frame, the bootstraps and the attack.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Square attack (L-inf) on the recognised strings, with a noise baseline under the same budget.
    #[arg(long)]
    pub attack: bool,
    /// Hard query budget per attacked line (AutoAttack: 5000).
    #[arg(long, default_value_t = 5000)]
    pub queries: usize,
    /// L-inf radius in 0..1 pixel units (AutoAttack above 64 px: 4/255 = 0.0157).
    #[arg(long, default_value_t = 4.0 / 255.0)]
    pub epsilon: f32,
    /// Lines attacked per image, in reading order.
    #[arg(long, default_value_t = 1)]
    pub attack_lines: usize,
    /// What the manufacturer declares, as aite.toml's [declared] (repeatable), recorded in
    /// results.json: `--declared ocr_char_accuracy=0.9` is what ROB-OCR-CHAR-ACCURACY compares with (--profile).
    #[arg(long, value_name = "KEY=VALUE")]
    pub declared: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub assess: AssessWith,
}

#[derive(Args)]
pub struct CorruptArgs {
    /// Images to corrupt (JPEG, PNG or BMP).
    #[arg(required = true)]
    pub images: Vec<std::path::PathBuf>,
    /// Folder that receives the corrupted images and contact-sheet.png.
    #[arg(long, default_value = "aite-corrupted")]
    pub out: std::path::PathBuf,
    /// Corruptions: names, or the groups imagenet-c, held-out, camera, all.
    #[arg(long, default_value = "all")]
    pub corruptions: String,
    /// Severities (1..=5).
    #[arg(long, default_value = "1,2,3,4,5", value_delimiter = ',')]
    pub severities: Vec<u8>,
    /// Severity table: auto, imagenet-c or cifar-c.
    #[arg(long, default_value = "auto")]
    pub table: String,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args)]
pub struct MergeArgs {
    /// results.json files (or run folders) of the shards of one sweep.
    #[arg(required = true)]
    pub runs: Vec<std::path::PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args)]
pub struct SecurityArgs {
    /// Firmware image, archive or root filesystem folder.
    pub input: std::path::PathBuf,
    /// Largest total size extracted (bytes), against decompression bombs.
    #[arg(long, default_value_t = 4 << 30)]
    pub max_bytes: u64,
    /// Most entries extracted.
    #[arg(long, default_value_t = 500_000)]
    pub max_files: usize,
    /// Public key (PEM) model signatures in the image are checked against (repeatable).
    /// Without one, signed models are reported as signed but not verified.
    #[arg(long = "model-key")]
    pub model_keys: Vec<PathBuf>,
    /// Offline vulnerability feed in OSV format: a record or array (.json), a folder of
    /// them, or an osv.dev zip export (e.g. Debian.zip). Components are matched by name and
    /// version range; without a feed, vulnerabilities are reported as not checked.
    #[arg(long)]
    pub osv: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub assess: AssessWith,
}

const PROBE_LONG_ABOUT: &str = "\
Probe what a running terminal exposes on the network, without exploiting anything: a TCP
connect scan (bounded concurrency, a timeout per connection, a total budget; each port offered,
closed or unknown), each open port identified (banner, TLS ClientHello, HTTP GET, RTSP
OPTIONS), then per service: TLS versions SSLv3 to 1.3 from hand-built ClientHellos, cipher
suites (remove-and-repeat), weak suites and the certificate (key strength, signature,
validity, self-signed; TLS 1.3 through a real handshake); SSH identification, KEXINIT
algorithms and, after a key exchange, the auth methods and password logins; telnet, with
logins tried by prompt matching; HTTP Basic and Digest (plain and inside TLS), RTSP (DESCRIBE
on a random route, then common camera routes; Basic and Digest) and ONVIF (GetDeviceInformation
and GetUsers without credentials, then WS-UsernameToken) with a short default list, every try
recorded and paced; the Open Inference Protocol without credentials (GET /v2, the model
repository index; load/unload never called) and malformed tensors that must get a 4xx.
Passwords tried are never printed and are recorded only with --reveal-passwords.

Safety: only 127.0.0.0/8 and ::1 are probed unless --allow-network names the network you are
authorised to test; host names are not resolved.

A rule passes only on subjects it examined; a step that timed out, an unidentified service
or a spent budget leaves it not checked (exit 6). The run folder gets results.json (suite
`network`: ports, services, attempts, rules[], findings) and findings.sarif. Exit code 1
when a critical or high finding fails.

Examples:
  aite probe 127.0.0.1 --ports all --declared 80,443
  aite probe ::1 --ports 22,23,80,443,554,8080 --json";

#[derive(Args)]
pub struct ProbeArgs {
    /// The device's address (IPv4, IPv6 or localhost).
    pub target: String,
    /// TCP ports: `all` or a list such as `22,80,8000-8100`.
    #[arg(long, default_value = "all")]
    pub ports: String,
    /// Ports the manufacturer declares (same syntax); without it, undeclared ports are not checked.
    #[arg(long)]
    pub declared: Option<String>,
    /// A network besides loopback that may be probed (CIDR, repeatable). Only for devices you are authorised to test.
    #[arg(long = "allow-network", value_name = "CIDR")]
    pub allow_network: Vec<String>,
    /// Total budget of the probe in seconds; what is left when it is spent is not checked.
    #[arg(long, default_value_t = 120)]
    pub budget: u64,
    /// Connection attempts in flight during the port scan.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Timeout of one connection attempt (milliseconds).
    #[arg(long, default_value_t = 500)]
    pub connect_timeout_ms: u64,
    /// Timeout of each request or handshake after connecting (milliseconds); a step that runs out leaves its rules not checked.
    #[arg(long, default_value_t = 3000)]
    pub step_timeout_ms: u64,
    /// Record the passwords tried in the evidence (never printed otherwise).
    #[arg(long)]
    pub reveal_passwords: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

const HISTORY_LONG_ABOUT: &str = "\
Every evidence package recorded in the history database (SQLite, one file): terminal identity,
firmware, models and their hashes, profile and its hash, every verdict, key metrics, security
findings, the package folder and its manifest digest. `aite run` records each run; `aite history
record DIR` adds an existing package (recording it again changes nothing). A run's id is the
first 12 hex digits of its manifest.json's SHA-256.

Database: --db PATH, else $AITE_HISTORY_DB, else $XDG_DATA_HOME/aite/history.sqlite3, else
~/.local/share/aite/history.sqlite3; `--db postgres://user@host:port/db` (feature `postgres`) is a
PostgreSQL server instead. Schema and statistics: docs/history.md. Needs the `history`
feature (cargo install --path crates/aite --features history).

Exit codes: 0 done; 2 built without the `history` feature; 3 the database or
a package cannot be read, or no such run.

Examples:
  aite history
  aite history --terminal SN-0042
  aite history record aite-runs/20261201-093000-run";

const DIFF_LONG_ABOUT: &str = "\
Compare run RUN_A (before) with RUN_B (after). Each is a run id, a unique prefix of one, or an
evidence package folder (recorded first if it is not yet).

Verdict changes per requirement; inputs whose SHA-256 changed; accuracies with a pooled
two-proportion z-test (two-sided p, significant at 5% or not); latency p50/p90/p99 per latency
suite with a 95% bootstrap interval of the difference from the raw per-query CSVs of both packages
(2000 resamples, fixed seed; when a package folder is gone or a CSV changed: raw samples
unavailable, no interval); security findings new, fixed (rule examined in RUN_B and the finding
gone) or not re-examined (rule not checked in RUN_B: not a fix). docs/history.md.

Exit codes: 0 done (whatever changed); 2 built without the `history` feature; 3 the database or
a package cannot be read, or no such run.

Examples:
  aite diff 3f2a9c 81b0d4
  aite diff aite-runs/20260101-run aite-runs/20260301-run --json";

/// `aite history [record DIR]`
#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: Option<HistoryAction>,
    /// Only runs whose declared terminal (manufacturer, model, hardware revision, serial,
    /// firmware version) contains this text, ignoring case.
    #[arg(long, value_name = "TEXT")]
    pub terminal: Option<String>,
    /// The history database (default: $AITE_HISTORY_DB, else $XDG_DATA_HOME/aite/history.sqlite3,
    /// else ~/.local/share/aite/history.sqlite3).
    #[arg(long, value_name = "PATH", global = true)]
    pub db: Option<PathBuf>,
    /// Print the runs as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `aite history record DIR`
#[derive(Subcommand, Debug)]
pub enum HistoryAction {
    /// Record an existing evidence package (a finished run folder with manifest.json).
    Record {
        /// The evidence package folder.
        dir: PathBuf,
    },
}

/// `aite diff RUN_A RUN_B`
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The earlier run: id, unique id prefix, or package folder.
    pub run_a: String,
    /// The later run: id, unique id prefix, or package folder.
    pub run_b: String,
    /// The history database (default as for `aite history`).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Print the diff as JSON.
    #[arg(long)]
    pub json: bool,
}
