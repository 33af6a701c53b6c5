//! Medians, ranges, ratio orientation and number formatting.

/// Median, min and max of the finite values of one (workload, impl).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Number of finite values.
    pub n: usize,
    /// Median (the mean of the two middle values for an even count).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// `None` when there is no finite value (nothing measured, or every run
    /// hit its bound).
    pub fn of(values: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Some(Summary { n, median, min: v[0], max: v[n - 1] })
    }
}

/// Whether a higher value is better for `unit`: rates (`.../s`) are
/// higher-is-better; times (`s`, `ms`, `us`) and sizes (`bytes/...`, `MiB`)
/// lower-is-better.
pub fn higher_is_better(unit: &str) -> bool {
    unit.ends_with("/s")
}

/// Ember's advantage over a peer, oriented so that > 1 means Ember is
/// better: `ember / peer` for rates, `peer / ember` for times and sizes.
pub fn advantage(unit: &str, ember: f64, peer: f64) -> f64 {
    if higher_is_better(unit) {
        ember / peer
    } else {
        peer / ember
    }
}

/// A figure with three significant digits and a K/M/G suffix for large
/// values: `4.12M`, `113K`, `5955`, `79.3`, `2.41`, `0.892`.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "NaN".into();
    }
    let a = v.abs();
    let sig3 = |x: f64| -> String {
        if x.abs() >= 100.0 {
            format!("{x:.0}")
        } else if x.abs() >= 10.0 {
            format!("{x:.1}")
        } else {
            format!("{x:.2}")
        }
    };
    if a >= 1e9 {
        format!("{}G", sig3(v / 1e9))
    } else if a >= 1e6 {
        format!("{}M", sig3(v / 1e6))
    } else if a >= 1e4 {
        format!("{}K", sig3(v / 1e3))
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        // three significant digits
        let digits = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    }
}

/// A ratio: `3.41×`.
pub fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        return "–".into();
    }
    if r >= 100.0 {
        format!("{r:.0}×")
    } else if r >= 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.2}×")
    }
}

/// `median [min–max]` (just the median for one run).
pub fn fmt_summary(s: &Summary) -> String {
    if s.n == 1 {
        fmt_num(s.median)
    } else {
        format!("{} [{}–{}]", fmt_num(s.median), fmt_num(s.min), fmt_num(s.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even_and_nan() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.n, s.median, s.min, s.max), (3, 2.0, 1.0, 3.0));
        let s = Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.n, s.median, s.min, s.max), (4, 2.5, 1.0, 4.0));
        let s = Summary::of(&[f64::NAN, 5.0]).unwrap();
        assert_eq!((s.n, s.median), (1, 5.0), "NaN runs are not values");
        assert_eq!(Summary::of(&[f64::NAN]), None);
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn ratio_orientation() {
        // Rates: higher is better, Ember twice the peer's rate -> 2.
        assert!(higher_is_better("procs/s"));
        assert_eq!(advantage("procs/s", 2_000_000.0, 1_000_000.0), 2.0);
        assert_eq!(advantage("calls/s", 500.0, 1000.0), 0.5);
        // Times and sizes: lower is better, Ember in half the time -> 2.
        for unit in ["s", "ms", "us", "bytes/proc", "bytes/child", "MiB"] {
            assert!(!higher_is_better(unit), "{unit}");
            assert_eq!(advantage(unit, 1.0, 2.0), 2.0, "{unit}");
            assert_eq!(advantage(unit, 4.0, 2.0), 0.5, "{unit}");
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_num(4_123_456.0), "4.12M");
        assert_eq!(fmt_num(12_345_678.0), "12.3M");
        assert_eq!(fmt_num(112_984.0), "113K");
        assert_eq!(fmt_num(52_100.0), "52.1K");
        assert_eq!(fmt_num(5955.1), "5955");
        assert_eq!(fmt_num(79.298), "79.3");
        assert_eq!(fmt_num(2.414), "2.41");
        assert_eq!(fmt_num(0.8919), "0.892");
        assert_eq!(fmt_num(0.012345), "0.0123");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_ratio(3.4149), "3.41×");
        assert_eq!(fmt_ratio(12.34), "12.3×");
        assert_eq!(fmt_ratio(f64::INFINITY), "–");
        let s = Summary { n: 3, median: 2.0, min: 1.5, max: 2.5 };
        assert_eq!(fmt_summary(&s), "2.00 [1.50–2.50]");
        assert_eq!(fmt_summary(&Summary { n: 1, ..s }), "2.00");
    }
}
