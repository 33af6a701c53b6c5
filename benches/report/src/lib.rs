//! Turns the `RESULT` lines of Ember's benchmarks and of the peers
//! (`benches/peers/`) into `docs/BENCHMARKS.md` and one SVG chart per
//! workload. Driven by `benches/compare`; see `src/main.rs` for the command
//! line.
//!
//! * [`parse`]: result files (`RESULT <workload> <impl> <value> <unit>` and
//!   the runners' `# ` comments);
//! * [`stats`]: median/min/max, the orientation of ratios (> 1 means Ember
//!   is better), number formatting;
//! * [`catalog`]: the workloads, the issues' targets and quoted figures;
//! * [`chart`]: the SVG bar charts (plotters, SVG backend only);
//! * [`report`]: the markdown.

pub mod catalog;
pub mod chart;
pub mod parse;
pub mod report;
pub mod stats;
