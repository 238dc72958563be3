//! Process resource figures and CPU frequency facts, read where the OS exposes them.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// CPU time consumed by this process so far (user + system).
pub fn process_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        // SAFETY: getrusage writes into the zeroed struct we own.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        if rc != 0 {
            return None;
        }
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
        Some(tv(usage.ru_utime) + tv(usage.ru_stime))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// CPU frequency scaling state of core 0, when sysfs exposes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuFrequency {
    pub governor: Option<String>,
    pub current_khz: Option<u64>,
    pub max_khz: Option<u64>,
}

pub fn cpu_frequency() -> CpuFrequency {
    let read = |f: &str| {
        std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu0/cpufreq/{f}"))
            .ok()
            .map(|s| s.trim().to_string())
    };
    CpuFrequency {
        governor: read("scaling_governor"),
        current_khz: read("scaling_cur_freq").and_then(|s| s.parse().ok()),
        max_khz: read("cpuinfo_max_freq").and_then(|s| s.parse().ok()),
    }
}

/// What the run cost the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceUsage {
    pub peak_rss_bytes: Option<u64>,
    /// CPU time / wall time during the measured run (1.0 = one core fully busy).
    pub cpu_cores_busy: Option<f64>,
    pub logical_cpus: usize,
    pub frequency_before: CpuFrequency,
    pub frequency_after: CpuFrequency,
}
