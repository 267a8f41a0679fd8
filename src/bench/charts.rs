//! SVG charts of a benchmark report (plotters): throughput and latency
//! against concurrency, per-query latency, and per-query ratios against the
//! peers.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::report::Report;
use super::BenchError;

const COLORS: [RGBColor; 6] = [
    RGBColor(0x8e, 0x24, 0x4d), // gamay (the grape)
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x7f, 0x7f, 0x7f),
];
const FONT: &str = "sans-serif";

fn chart_error(path: &Path) -> impl Fn(String) -> BenchError + '_ {
    move |message| BenchError::Chart {
        path: path.to_path_buf(),
        message,
    }
}

/// Writes every chart the report has data for into `dir`; returns their paths.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
    let mut written = Vec::new();
    if !report.concurrency.is_empty() {
        let path = dir.join("concurrency.svg");
        concurrency(report, &path).map_err(chart_error(&path))?;
        written.push(path);
    }
    if !report.queries.is_empty() {
        let path = dir.join("queries.svg");
        queries(report, &path).map_err(chart_error(&path))?;
        written.push(path);
    }
    if let Some(Ok(peers)) = &report.peers {
        if !peers.ratios.is_empty() {
            let path = dir.join("peers.svg");
            ratios(&peers.times, &path).map_err(chart_error(&path))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Log-scale bounds around `values`, in whole decades.
fn decades(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if low > high {
        return (0.1, 10.0);
    }
    let low = 10f64.powf(low.log10().floor());
    let high = 10f64.powf((high.log10() + 1e-9).ceil());
    (low, high.max(low * 10.0))
}

fn concurrency(report: &Report, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(500);
    let clients: Vec<f64> = report.concurrency[0]
        .levels
        .iter()
        .map(|level| level.clients as f64)
        .collect();
    let max_clients = clients.iter().cloned().fold(1.0, f64::max);
    let x_range = || {
        (0.8f64..max_clients * 1.25)
            .log_scale()
            .with_key_points(clients.clone())
    };

    let (low_qps, high_qps) = decades(
        report
            .concurrency
            .iter()
            .flat_map(|mix| mix.levels.iter().map(|level| level.queries_per_second)),
    );
    let mut chart = ChartBuilder::on(&left)
        .caption("Throughput", (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range(), (low_qps..high_qps).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("concurrent clients")
        .y_desc("queries/s (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, mix) in report.concurrency.iter().enumerate() {
        let color = COLORS[(i + 1) % COLORS.len()];
        let points: Vec<(f64, f64)> = mix
            .levels
            .iter()
            .map(|level| (level.clients as f64, level.queries_per_second))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(mix.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(|e| e.to_string())?;

    let (low, high) = decades(report.concurrency.iter().flat_map(|mix| {
        mix.levels
            .iter()
            .flat_map(|level| [level.latency.p50_ms, level.latency.p99_ms])
    }));
    let mut chart = ChartBuilder::on(&right)
        .caption("Latency under load", (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range(), (low..high).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("concurrent clients")
        .y_desc("ms (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format_ms(*y))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, mix) in report.concurrency.iter().enumerate() {
        let color = COLORS[(i + 1) % COLORS.len()];
        for (label, dashed) in [("p50", false), ("p99", true)] {
            let points: Vec<(f64, f64)> = mix
                .levels
                .iter()
                .map(|level| {
                    let ms = if dashed {
                        level.latency.p99_ms
                    } else {
                        level.latency.p50_ms
                    };
                    (level.clients as f64, ms.max(low))
                })
                .collect();
            let style = if dashed {
                color.mix(0.55).stroke_width(2)
            } else {
                color.stroke_width(2)
            };
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .map_err(|e| e.to_string())?
                .label(format!("{} {label}", mix.name))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, style.filled())))
                .map_err(|e| e.to_string())?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn format_ms(ms: f64) -> String {
    if ms >= 1.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms}")
    }
}

/// Grouped bars on a log scale: one group per label, one bar per series.
fn grouped_bars(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    labels: &[String],
    series: &[(String, Vec<Option<f64>>)],
    first_color: usize,
    reference: Option<f64>,
) -> Result<(), String> {
    let (mut low, mut high) = decades(series.iter().flat_map(|(_, v)| v.iter().flatten().copied()));
    if let Some(line) = reference {
        low = low.min(line / 10.0);
        high = high.max(line * 10.0);
    }
    // Each label owns 100 units of x; its bars share the middle 80.
    let slots = labels.len() as i32 * 100;
    let keys: Vec<i32> = (0..labels.len() as i32).map(|i| i * 100 + 50).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((0..slots).with_key_points(keys), (low..high).log_scale())
        .map_err(|e| e.to_string())?;
    let names = labels.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(y_desc)
        .x_label_formatter(&move |x| {
            names
                .get((*x / 100).max(0) as usize)
                .cloned()
                .unwrap_or_default()
        })
        .y_label_formatter(&|y| format_ms(*y))
        .draw()
        .map_err(|e| e.to_string())?;
    let width = 80 / series.len().max(1) as i32;
    for (s, (name, values)) in series.iter().enumerate() {
        let color = COLORS[(first_color + s) % COLORS.len()];
        let bars = values.iter().enumerate().filter_map(|(i, value)| {
            let value = (*value)?;
            let x0 = i as i32 * 100 + 10 + s as i32 * width;
            // Against a reference, bars grow from it, up or down.
            let base = reference.unwrap_or(low);
            Some(Rectangle::new(
                [(x0, base), (x0 + width * 9 / 10, value.max(low))],
                color.filled(),
            ))
        });
        chart
            .draw_series(bars)
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    if let Some(line) = reference {
        chart
            .draw_series(LineSeries::new(
                [(0, line), (slots, line)],
                BLACK.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(|e| e.to_string())
}

fn queries(report: &Report, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let labels: Vec<String> = report
        .queries
        .iter()
        .map(|q| q.query.name.clone())
        .collect();
    let series = vec![
        (
            "p50".to_string(),
            report
                .queries
                .iter()
                .map(|q| Some(q.latency.p50_ms))
                .collect(),
        ),
        (
            "p99".to_string(),
            report
                .queries
                .iter()
                .map(|q| Some(q.latency.p99_ms))
                .collect(),
        ),
    ];
    grouped_bars(
        &root,
        "Query latency, one client, kept-alive connection",
        "ms (log scale)",
        &labels,
        &series,
        0,
        None,
    )?;
    root.present().map_err(|e| e.to_string())
}

/// Each peer's time ÷ Gamay's, per query; the line is 1× (as fast).
fn ratios(times: &super::peers::PeerTimes, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let gamay = times
        .engines
        .iter()
        .position(|e| e == "gamay")
        .ok_or("no gamay column")?;
    let labels: Vec<String> = times.queries.iter().map(|(q, _)| q.clone()).collect();
    let series: Vec<(String, Vec<Option<f64>>)> = times
        .engines
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != gamay)
        .map(|(i, engine)| {
            let ratios = times
                .queries
                .iter()
                .map(|(_, t)| Some(t[i]?.max(0.05) / t[gamay]?.max(0.05)))
                .collect();
            (engine.clone(), ratios)
        })
        .collect();
    grouped_bars(
        &root,
        "How many times longer the peers take than Gamay (above the line: Gamay is faster)",
        "peer ms ÷ gamay ms (log scale)",
        &labels,
        &series,
        1,
        Some(1.0),
    )?;
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_bounds_cover_whole_decades() {
        assert_eq!(decades([0.27, 78.2].into_iter()), (0.1, 100.0));
        assert_eq!(decades([10.0].into_iter()), (10.0, 100.0));
        assert_eq!(decades(std::iter::empty()), (0.1, 10.0));
    }
}
