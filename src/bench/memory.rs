//! Resident memory from `/proc/self/status` (Linux; zero elsewhere).

/// `VmRSS` and `VmHWM` (peak) in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rss {
    /// Resident now.
    pub current: u64,
    /// Peak resident since start or the last [`reset_peak`].
    pub peak: u64,
}

/// Reads this process's resident set size and its peak.
pub fn rss() -> Rss {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    Rss {
        current: field("VmRSS:"),
        peak: field("VmHWM:"),
    }
}

/// Resets the peak (`VmHWM`) to the current RSS (writes `5` to `/proc/self/clear_refs`).
/// Returns false when the kernel refuses.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
