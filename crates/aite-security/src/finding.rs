//! Findings and the rule catalogue: what each check is called, how severe a
//! failure is, and which clauses it evidences.
//!
//! The clause mapping is aite's reading of the standards (docs/security.md);
//! profiles will be able to override it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// A check aite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub clauses: &'static [&'static str],
    pub help: &'static str,
    /// What the rule examines (plural), e.g. "accounts", "ELF executables":
    /// it passes only when at least one was examined.
    pub subject: &'static str,
}

const PW: &[&str] = &["ETSI EN 303 645 5.1-1", "ETSI EN 303 645 5.1-2", "EN 18031-1 AUM-5"];
const SURFACE: &[&str] = &["ETSI EN 303 645 5.6"];
const KEY: &[&str] = &["ETSI EN 303 645 5.4-1", "ETSI EN 303 645 5.4-3", "EN 18031-1 SSM-1", "EN 18031-1 CCK-3"];
const SIGNED: &[&str] = &["EU AI Act Art. 15(5)", "ETSI EN 303 645 5.7-1", "EN 18031-1 SUM-2"];
const MODEL: &[&str] = &["EU AI Act Art. 15(5)", "ETSI EN 303 645 5.7"];

/// Every rule, in report order.
pub const RULES: &[Rule] = &[
    Rule { id: "AITE-CRED-EMPTY", title: "account without a password", severity: Severity::Critical, clauses: PW, help: "lock the account (`!` in shadow) or require a per-device password", subject: "accounts" },
    Rule { id: "AITE-CRED-DEFAULT", title: "password is a well-known default", severity: Severity::Critical, clauses: PW, help: "ship unique per-device passwords or force the user to set one (EN 303 645 5.1-1)", subject: "accounts" },
    Rule { id: "AITE-CRED-UID0", title: "account other than root with UID 0", severity: Severity::High, clauses: &["ETSI EN 303 645 5.6", "EN 18031-1 ACM-1"], help: "give service accounts their own unprivileged UID", subject: "accounts in /etc/passwd" },
    Rule { id: "AITE-CRED-HASH-IN-PASSWD", title: "password hash stored in world-readable /etc/passwd", severity: Severity::High, clauses: &["ETSI EN 303 645 5.4-1", "EN 18031-1 SSM-1"], help: "move hashes to /etc/shadow (mode 0640 or stricter)", subject: "accounts in /etc/passwd and web password files" },
    Rule { id: "AITE-CRED-WEAK-HASH", title: "password hash uses a weak scheme (DES or MD5-crypt)", severity: Severity::Medium, clauses: &["ETSI EN 303 645 5.4-1", "EN 18031-1 CRY-1"], help: "use SHA-512-crypt or yescrypt", subject: "password hashes" },
    Rule { id: "AITE-ELF-NX", title: "executable stack (NX disabled)", severity: Severity::High, clauses: SURFACE, help: "link with -z noexecstack", subject: "ELF files" },
    Rule { id: "AITE-ELF-CANARY", title: "no stack canary", severity: Severity::Medium, clauses: SURFACE, help: "compile with -fstack-protector-strong", subject: "ELF executables" },
    Rule { id: "AITE-ELF-PIE", title: "executable not position-independent", severity: Severity::Medium, clauses: SURFACE, help: "compile with -fPIE and link with -pie", subject: "ELF executables" },
    Rule { id: "AITE-ELF-RELRO", title: "no full RELRO", severity: Severity::Low, clauses: SURFACE, help: "link with -z relro -z now", subject: "dynamically linked ELF files" },
    Rule { id: "AITE-ELF-FORTIFY", title: "FORTIFY_SOURCE not used although the libc offers checked functions", severity: Severity::Low, clauses: SURFACE, help: "compile with -D_FORTIFY_SOURCE=2 (or 3) and optimisation", subject: "ELF files with a known libc" },
    Rule { id: "AITE-ELF-RPATH", title: "RPATH/RUNPATH set", severity: Severity::Low, clauses: SURFACE, help: "drop RPATH/RUNPATH; writable ones let anyone substitute libraries", subject: "ELF files" },
    Rule { id: "AITE-SURFACE-BACKDOOR", title: "shell on a listening network socket", severity: Severity::Critical, clauses: &["ETSI EN 303 645 5.6-1", "EN 18031-1 GEC-2"], help: "remove the listener; there is no legitimate use for an unauthenticated network shell", subject: "boot configuration files" },
    Rule { id: "AITE-SURFACE-TELNET", title: "telnet server started at boot", severity: Severity::High, clauses: &["ETSI EN 303 645 5.6-1", "ETSI EN 303 645 5.5-1", "EN 18031-1 GEC-2"], help: "remove telnetd; use SSH with keys if remote administration is needed", subject: "boot configuration files" },
    Rule { id: "AITE-SURFACE-DEBUG", title: "debug service (gdbserver, adbd) started at boot", severity: Severity::High, clauses: &["ETSI EN 303 645 5.6-4", "EN 18031-1 GEC-2"], help: "do not start debug services in production images", subject: "boot configuration files" },
    Rule { id: "AITE-SURFACE-UART-SHELL", title: "shell without login on a console", severity: Severity::High, clauses: &["ETSI EN 303 645 5.6-4"], help: "require a login on serial consoles or disable them in production", subject: "console configurations" },
    Rule { id: "AITE-SURFACE-UART-LOGIN", title: "login prompt on a serial console", severity: Severity::Low, clauses: &["ETSI EN 303 645 5.6-4"], help: "disable the serial getty in production images if the port is physically accessible", subject: "console configurations" },
    Rule { id: "AITE-SURFACE-SSH-ROOT-PASSWORD", title: "sshd allows root (or empty) password login", severity: Severity::High, clauses: &["ETSI EN 303 645 5.1-1", "EN 18031-1 AUM-5"], help: "PermitRootLogin prohibit-password, PasswordAuthentication no", subject: "SSH server configurations" },
    Rule { id: "AITE-MODEL-PICKLE-CODE", title: "model file executes code-capable globals when loaded", severity: Severity::Critical, clauses: MODEL, help: "ship weights as safetensors, ONNX or TFLite; never load pickles from untrusted sources", subject: "pickle-bearing files" },
    Rule { id: "AITE-MODEL-PICKLE-UNKNOWN", title: "model file imports globals outside the safe list", severity: Severity::High, clauses: MODEL, help: "review the imports; published scanner bypasses use obscure standard-library modules", subject: "pickle-bearing files" },
    Rule { id: "AITE-MODEL-PICKLE-NESTED", title: "pickle carries a nested pickle that would run code if unpickled", severity: Severity::Info, clauses: MODEL, help: "informative: loading the file runs none of it, but whatever unpickles the inner bytes later does; find out what consumes them", subject: "pickle-bearing files" },
    Rule { id: "AITE-MODEL-TF-PYFUNC", title: "TensorFlow SavedModel with PyFunc/EagerPyFunc operators (Python runs with the graph)", severity: Severity::High, clauses: MODEL, help: "replace tf.py_function/tf.numpy_function with TensorFlow operators, or export the model to ONNX/TFLite", subject: "TensorFlow SavedModels" },
    Rule { id: "AITE-MODEL-KERAS-LAMBDA", title: "Keras model with Lambda layers (bytecode runs at load)", severity: Severity::High, clauses: MODEL, help: "replace Lambda layers with registered custom layers or export to ONNX/TFLite", subject: "Keras models" },
    Rule { id: "AITE-MODEL-ONNX-EXTERNAL-PATH", title: "ONNX external data outside the model folder", severity: Severity::Critical, clauses: MODEL, help: "keep external data files beside the model with relative paths (CVE-2025-51480)", subject: "ONNX models" },
    Rule { id: "AITE-MODEL-CUSTOM-OP", title: "model needs custom operators (code outside the standard runtime)", severity: Severity::Medium, clauses: MODEL, help: "list the custom-op libraries in the technical documentation and check their provenance", subject: "ONNX and TFLite models" },
    Rule { id: "AITE-MODEL-HUGE-TENSOR", title: "model declares huge tensors", severity: Severity::Medium, clauses: MODEL, help: "a declared size far beyond the file size can exhaust memory at load", subject: "ONNX models" },
    Rule { id: "AITE-MODEL-UNSIGNED", title: "model without an OpenSSF Model Signing signature", severity: Severity::Medium, clauses: SIGNED, help: "sign every model release (`aite sign` or `model_signing sign`) and verify the signature on the device before loading", subject: "models" },
    Rule { id: "AITE-MODEL-SIGNATURE-INVALID", title: "model signature does not verify or files changed since signing", severity: Severity::Critical, clauses: SIGNED, help: "the model was modified after signing, or signed by another key: rebuild it from the release pipeline", subject: "signed models" },
    Rule { id: "AITE-MODEL-SIGNATURE-UNVERIFIED", title: "model signed, but no key given to check it", severity: Severity::Low, clauses: SIGNED, help: "pass the release public key with --model-key", subject: "signed models" },
    Rule { id: "AITE-MODEL-UNSCANNABLE", title: "model file (or part) could not be examined", severity: Severity::Low, clauses: MODEL, help: "encrypted, unsupported or corrupt: examine it by other means", subject: "model artifacts" },
    Rule { id: "AITE-KEY-PRIVATE", title: "unencrypted private key in the image", severity: Severity::High, clauses: KEY, help: "generate keys on the device at first boot (or provision them per device in a secure element); never ship them in the image", subject: "files searched for keys" },
    Rule { id: "AITE-KEY-PRIVATE-ENCRYPTED", title: "passphrase-protected private key in the image", severity: Severity::Medium, clauses: KEY, help: "the passphrase has to be on the device too: provision keys per device instead", subject: "files searched for keys" },
    Rule { id: "AITE-KEY-WEAK", title: "key below 112-bit security strength", severity: Severity::High, clauses: &["EN 18031-1 CCK-1", "EN 18031-1 CRY-1", "ETSI EN 303 645 5.5-1"], help: "use RSA >= 2048 bits, ECDSA P-256 or Ed25519 (SP 800-57: at least 112-bit security)", subject: "keys and certificates of known strength" },
    Rule { id: "AITE-KEY-AUTHORIZED", title: "SSH authorized_keys shipped in the image", severity: Severity::High, clauses: &["ETSI EN 303 645 5.1-1", "EN 18031-1 AUM-1-1", "EN 18031-1 CCK-3"], help: "a vendor key in authorized_keys opens every device: provision keys per device or per owner", subject: "files" },
    Rule { id: "AITE-CERT-EXPIRED", title: "certificate expired or not yet valid", severity: Severity::Medium, clauses: &["ETSI EN 303 645 5.5-1", "EN 18031-1 SCM-1"], help: "renew the certificate and plan how devices receive renewed certificates in the field", subject: "certificates outside trust stores" },
    Rule { id: "AITE-CERT-SELF-SIGNED", title: "self-signed end-entity certificate", severity: Severity::Low, clauses: &["ETSI EN 303 645 5.5-1", "EN 18031-1 SCM-1"], help: "clients cannot authenticate a self-signed certificate; issue it from a CA the clients trust", subject: "certificates outside trust stores" },
    Rule { id: "AITE-VULN-KNOWN", title: "component with a known vulnerability (OSV feed)", severity: Severity::High, clauses: &["EN 18031-1 GEC-1", "ETSI EN 303 645 5.3-2", "ETSI EN 303 645 5.3-8"], help: "update the component to a fixed version, or document why the vulnerability is not exploitable (CycloneDX VEX)", subject: "components" },
    Rule { id: "AITE-FS-SETUID", title: "setuid/setgid executable", severity: Severity::Medium, clauses: SURFACE, help: "remove the setuid/setgid bit unless the program needs it", subject: "files" },
    Rule { id: "AITE-FS-WORLD-WRITABLE", title: "world-writable file", severity: Severity::Medium, clauses: &["ETSI EN 303 645 5.7", "EN 18031-1 SUM-2"], help: "remove write permission for others", subject: "files" },
    Rule { id: "AITE-PARSER-CRASH", title: "a parser crashed on a file (it was not examined)", severity: Severity::Medium, clauses: &[], help: "the file is malformed or hostile; examine it by other means and report it to the aite maintainers", subject: "files read" },
    Rule { id: "AITE-UNPACK-INCOMPLETE", title: "part of the image was not examined", severity: Severity::High, clauses: &["ETSI EN 303 645 5.6", "EN 18031-1 GEC-1"], help: "the regions, containers and entries listed were not examined: no rule can pass on them; unpack them by other means or report the format", subject: "containers" },
];

pub fn rule(id: &str) -> &'static Rule {
    RULES.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("unknown rule {id}"))
}

/// What a rule concluded. Only [`RuleStatus::Pass`] says "examined and
/// nothing found"; the two "not" states are answers, never passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RuleStatus {
    /// At least one subject was examined and none failed, on a complete scan.
    Pass,
    /// A subject failed the rule (the finding says which and why).
    Fail,
    /// Nothing the rule examines exists in the image (the reason says what was looked for).
    NotApplicable,
    /// Subjects exist but were not (all) examined, or the rule could not run
    /// (scan incomplete, no vulnerability feed, unverifiable hash scheme).
    NotChecked,
}

impl RuleStatus {
    /// The SARIF 2.1.0 `result.kind` (3.27.9): a rule that could not be decided is `open`.
    pub fn sarif_kind(self) -> &'static str {
        match self {
            RuleStatus::Pass => "pass",
            RuleStatus::Fail => "fail",
            RuleStatus::NotApplicable => "notApplicable",
            RuleStatus::NotChecked => "open",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RuleStatus::Pass => "pass",
            RuleStatus::Fail => "fail",
            RuleStatus::NotApplicable => "not applicable",
            RuleStatus::NotChecked => "not checked",
        }
    }
}

/// One observation: a failure, or a rule's conclusion when it did not fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub status: RuleStatus,
    pub message: String,
    /// Path inside the image (empty for image-wide results).
    pub path: String,
    /// Line of the evidence in a text file (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Byte offset of the evidence inside the file (binary files).
    pub offset: Option<u64>,
    pub excerpt: Option<String>,
    pub clauses: Vec<String>,
    /// What tells this finding from the rule's other findings on the same `path` (an account, a
    /// certificate's subject, a key's fingerprint, a component and vulnerability, a configuration
    /// directive), so a release diff follows it when the message's wording or figures change;
    /// `None`: the rule reports at most one finding per path. Always written (`null` included): a
    /// finding without the field comes from an aite that did not record it. This typed reader
    /// reads both as `None`: it serves the reports, which show the finding either way; the one
    /// reader that needs the difference, aite-history's package reader, reads the JSON itself.
    #[serde(default)]
    pub key: Option<String>,
}

impl Finding {
    pub fn fail(rule_id: &str, path: &str, message: impl Into<String>) -> Self {
        let r = rule(rule_id);
        Finding { rule: r.id.into(), severity: r.severity, status: RuleStatus::Fail, message: message.into(), path: path.into(), line: None, offset: None, excerpt: None, clauses: r.clauses.iter().map(|c| c.to_string()).collect(), key: None }
    }

    /// A rule's conclusion other than a failure (pass, not applicable, not checked).
    pub fn outcome(rule_id: &str, status: RuleStatus, message: impl Into<String>) -> Self {
        Finding { status, severity: Severity::Info, ..Finding::fail(rule_id, "", message) }
    }

    /// Evidence at a line (1-based) of a text file.
    pub fn at_line(mut self, line: usize, excerpt: impl Into<String>) -> Self {
        self.line = Some(line.max(1) as u64);
        self.excerpt = Some(excerpt.into());
        self
    }

    /// Evidence at a byte offset of a (binary) file.
    pub fn at_offset(mut self, offset: u64, excerpt: impl Into<String>) -> Self {
        self.offset = Some(offset);
        self.excerpt = Some(excerpt.into());
        self
    }

    /// What identifies the finding among the rule's findings on its path ([`Finding::key`]).
    pub fn about(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Evidence without a location inside the file.
    pub fn with_excerpt(mut self, excerpt: impl Into<String>) -> Self {
        self.excerpt = Some(excerpt.into());
        self
    }

    pub fn failed(&self) -> bool {
        self.status == RuleStatus::Fail
    }
}
