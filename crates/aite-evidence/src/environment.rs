//! The environment fingerprint: what machine and tool produced a result.

use serde::{Deserialize, Serialize};

/// The aite build that produced the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
    /// Git commit at build time (`-dirty` when the tree had changes), or `unknown`.
    pub commit: String,
}

impl ToolInfo {
    pub fn current() -> Self {
        ToolInfo {
            name: "aite".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            commit: env!("AITE_GIT_COMMIT").into(),
        }
    }
}

/// Facts about the machine a run executed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub tool: ToolInfo,
    pub os: String,
    pub arch: String,
    pub kernel: Option<String>,
    pub cpu_model: Option<String>,
    pub logical_cpus: usize,
    pub memory_total_bytes: Option<u64>,
    pub hostname: Option<String>,
}

fn read_trim(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl Environment {
    /// Read the fingerprint of this machine (Linux facts from /proc; `None` elsewhere).
    pub fn capture() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name") || l.starts_with("Model") || l.starts_with("Hardware"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string());
        let memory_total_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kb| kb * 1024)
        });
        Environment {
            tool: ToolInfo::current(),
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            kernel: read_trim("/proc/sys/kernel/osrelease"),
            cpu_model,
            logical_cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            memory_total_bytes,
            hostname: read_trim("/proc/sys/kernel/hostname"),
        }
    }
}
