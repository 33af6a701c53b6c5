//! The output contract of every benchmark of the comparison, and the
//! readings of this OS process it reports: one file shared by Ember's bench
//! binaries (`benches/common/mod.rs`) and the Rust peers
//! (`benches/peers/rust/common`, which includes it by path), so that both
//! sides format and measure alike. Standard library only.

use std::time::Duration;

/// Formats a value like the peers do: values >= 1000 as integers, the rest
/// with up to 4 decimals (at least one).
pub fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        return "NaN".into();
    }
    if v.abs() >= 1000.0 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    }
}

/// Count per second.
pub fn rate(count: u64, d: Duration) -> f64 {
    count as f64 / d.as_secs_f64()
}

/// Nearest-rank percentile of sorted samples, as every peer computes it
/// (`ceil(p * len)`, 1-based).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let len = sorted.len();
    let rank = ((p * len as f64).ceil() as usize).clamp(1, len);
    sorted[rank - 1]
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmPTE`, ...).
pub fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            let kb: u64 = rest.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0);
            return kb * 1024;
        }
    }
    0
}

/// Number of memory mappings of this OS process (lines of `/proc/self/maps`),
/// the quantity `vm.max_map_count` bounds.
/// Reads with a buffer on the stack: when the map budget is exhausted, malloc
/// may be unable to grow the heap, and a failed allocation would abort.
pub fn map_count() -> usize {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open("/proc/self/maps") else { return 0 };
    let mut buf = [0u8; 16384];
    let mut lines = 0;
    loop {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => return lines,
            Ok(k) => lines += buf[..k].iter().filter(|&&b| b == b'\n').count(),
        }
    }
}

/// `vm.max_map_count` of this machine.
pub fn max_map_count() -> u64 {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}
