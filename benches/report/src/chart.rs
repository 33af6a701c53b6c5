//! One SVG bar chart per workload: the median of each implementation as a
//! bar, its min–max range as a whisker, and figures quoted from the issues
//! (not re-measured) as grey, hatched-looking bars without whiskers.

use crate::stats::{fmt_num, higher_is_better, Summary};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Label under the bar (`Ember`, `Erlang`, `tokio (quoted)`).
    pub label: String,
    /// Implementation key for the colour (`ember`, `erlang`, ...).
    pub key: String,
    /// Median, min, max (min = max = median for a quoted figure).
    pub summary: Summary,
    /// A figure quoted from an issue, not re-measured.
    pub quoted: bool,
}

fn colour(key: &str) -> RGBColor {
    match key {
        "ember" => RGBColor(0xd9, 0x48, 0x0f),
        "erlang" => RGBColor(0xa9, 0x05, 0x33),
        "elixir" => RGBColor(0x6e, 0x4a, 0x7e),
        "go" => RGBColor(0x00, 0x7d, 0x9c),
        "tokio" => RGBColor(0x3a, 0x3a, 0x3a),
        _ => RGBColor(0xb0, 0xb0, 0xb0),
    }
}

/// Renders the chart of one workload into an SVG string.
pub fn render(workload: &str, unit: &str, bars: &[Bar]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        draw(&root, workload, unit, bars).map_err(|e| format!("{workload}: {e}"))?;
        root.present().map_err(|e| format!("{workload}: {e}"))?;
    }
    Ok(svg)
}

/// Whether the medians span so many orders of magnitude that a linear axis
/// would hide the small bars (e.g. 10 ms against 30 s).
fn wants_log_scale(bars: &[Bar]) -> bool {
    let lo = bars.iter().map(|b| b.summary.min).fold(f64::INFINITY, f64::min);
    let hi = bars.iter().map(|b| b.summary.max).fold(0.0_f64, f64::max);
    lo > 0.0 && hi / lo > 40.0
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    workload: &str,
    unit: &str,
    bars: &[Bar],
) -> Result<(), Box<dyn std::error::Error + 'static>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let better = if higher_is_better(unit) { "higher is better" } else { "lower is better" };
    let top = bars.iter().map(|b| b.summary.max).fold(0.0_f64, f64::max);
    let bottom = bars.iter().map(|b| b.summary.min).fold(f64::INFINITY, f64::min);
    // Bar i occupies [i, i + 1) on a plain x axis; the axis' own labels are
    // off and each bar's name is written under its centre.
    let n = bars.len().max(1) as f64;
    let log = wants_log_scale(bars);
    let caption = format!("{workload}  ({unit}, {better}{})", if log { ", log scale" } else { "" });
    let mut builder = ChartBuilder::on(root);
    builder.caption(caption, ("sans-serif", 18)).margin(12).x_label_area_size(30).y_label_area_size(64);
    if log {
        let (lo, hi) = (bottom / 2.0, top * 3.0);
        let mut chart = builder.build_cartesian_2d(0.0..n, (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .bold_line_style(RGBColor(0xe0, 0xe0, 0xe0))
            .light_line_style(TRANSPARENT)
            .y_desc(unit)
            .y_label_formatter(&|v| fmt_num(*v))
            .label_style(("sans-serif", 13))
            .draw()?;
        draw_bars(root, &mut chart, bars, lo)
    } else {
        let hi = if top > 0.0 { top * 1.18 } else { 1.0 };
        let mut chart = builder.build_cartesian_2d(0.0..n, 0.0..hi)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .bold_line_style(RGBColor(0xe0, 0xe0, 0xe0))
            .light_line_style(TRANSPARENT)
            .y_desc(unit)
            .y_label_formatter(&|v| fmt_num(*v))
            .label_style(("sans-serif", 13))
            .draw()?;
        draw_bars(root, &mut chart, bars, 0.0)
    }
}

/// Bars from `base` (the bottom of the y axis) to each median, whiskers,
/// value labels, and the names under the axis.
fn draw_bars<DB, Y>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    bars: &[Bar],
    base: f64,
) -> Result<(), Box<dyn std::error::Error + 'static>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64>,
{
    let n = bars.len().max(1) as f64;
    // Bars at most ~60% of their slot, and at most ~130 px wide.
    let (x0, _) = chart.backend_coord(&(0.0, base));
    let (x1, _) = chart.backend_coord(&(n, base));
    let slot_px = f64::from(x1 - x0) / n;
    let half = (0.3_f64).min(65.0 / slot_px.max(1.0));
    let font = ("sans-serif", 13).into_font();
    for (i, bar) in bars.iter().enumerate() {
        let mid = i as f64 + 0.5;
        let s = bar.summary;
        let c = colour(&bar.key);
        let fill = if bar.quoted { c.mix(0.35).filled() } else { c.filled() };
        chart.draw_series(std::iter::once(Rectangle::new([(mid - half, base), (mid + half, s.median)], fill)))?;
        if bar.quoted {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(mid - half, base), (mid + half, s.median)],
                c.stroke_width(1),
            )))?;
        }
        if s.max > s.min {
            let whisker = BLACK.stroke_width(1);
            chart.draw_series(std::iter::once(PathElement::new(vec![(mid, s.min), (mid, s.max)], whisker)))?;
            for v in [s.min, s.max] {
                chart.draw_series(std::iter::once(
                    EmptyElement::at((mid, v)) + PathElement::new(vec![(-7, 0), (7, 0)], whisker),
                ))?;
            }
        }
        let label = if bar.quoted { format!("{} (quoted)", fmt_num(s.median)) } else { fmt_num(s.median) };
        let above = TextStyle::from(font.clone()).pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(std::iter::once(EmptyElement::at((mid, s.max)) + Text::new(label, (0, -4), above)))?;
        // The name, under the x axis.
        let (px, py) = chart.backend_coord(&(mid, base));
        let below = TextStyle::from(font.clone()).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(bar.label.clone(), (px, py + 8), below))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_bars_whiskers_and_labels() {
        let bars = vec![
            Bar {
                label: "Ember".into(),
                key: "ember".into(),
                summary: Summary { n: 3, median: 4.0e6, min: 3.5e6, max: 4.5e6 },
                quoted: false,
            },
            Bar {
                label: "Erlang".into(),
                key: "erlang".into(),
                summary: Summary { n: 3, median: 4.4e5, min: 3.6e5, max: 5.0e5 },
                quoted: false,
            },
            Bar {
                label: "tokio (quoted)".into(),
                key: "tokio".into(),
                summary: Summary { n: 1, median: 1.55e6, min: 1.55e6, max: 1.55e6 },
                quoted: true,
            },
        ];
        let svg = render("spawn_1m", "procs/s", &bars).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("spawn_1m"));
        assert!(svg.contains("higher is better"));
        assert!(svg.contains("4.00M"), "median label");
        assert!(svg.contains("1.55M (quoted)"));
        assert!(svg.contains("tokio (quoted)"), "x label");
        assert!(svg.contains("#D9480F") || svg.contains("#d9480f"), "Ember's colour");
    }

    #[test]
    fn writes_sample_charts_when_asked() {
        // EMBER_CHART_SAMPLES=DIR writes the charts of these tests, to look at them.
        let Some(dir) = std::env::var_os("EMBER_CHART_SAMPLES") else { return };
        let one = [Bar {
            label: "Ember".into(),
            key: "ember".into(),
            summary: Summary { n: 3, median: 2.0, min: 1.5, max: 2.6 },
            quoted: false,
        }];
        std::fs::write(std::path::Path::new(&dir).join("one.svg"), render("one", "ms", &one).unwrap()).unwrap();
        let mut two = one.to_vec();
        two.push(Bar {
            label: "Elixir".into(),
            key: "elixir".into(),
            summary: Summary { n: 3, median: 30.0, min: 25.0, max: 36.0 },
            quoted: false,
        });
        two.push(Bar {
            label: "Erlang".into(),
            key: "erlang".into(),
            summary: Summary { n: 3, median: 12.0, min: 11.0, max: 19.0 },
            quoted: false,
        });
        std::fs::write(std::path::Path::new(&dir).join("three.svg"), render("three", "ms", &two).unwrap()).unwrap();
        two[1].summary = Summary { n: 3, median: 30000.0, min: 28000.0, max: 36000.0 };
        assert!(wants_log_scale(&two));
        let svg = render("log", "ms", &two).unwrap();
        assert!(svg.contains("log scale"));
        std::fs::write(std::path::Path::new(&dir).join("log.svg"), svg).unwrap();
    }
}
