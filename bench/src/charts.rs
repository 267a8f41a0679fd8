//! SVG charts of a benchmark report (plotters): throughput and latency
//! against concurrency, per-query latency, and per-query ratios against the
//! peers.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::load::Concurrency;
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

/// One line of a chart against concurrency.
struct Line {
    label: String,
    style: ShapeStyle,
    points: Vec<(f64, f64)>,
}

fn concurrency(report: &Report, path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(500);
    let mut throughput = Vec::new();
    let mut latency = Vec::new();
    for (i, mix) in report.concurrency.iter().enumerate() {
        let color = COLORS[(i + 1) % COLORS.len()];
        let line = |label: String, style: ShapeStyle, value: &dyn Fn(&Concurrency) -> f64| Line {
            label,
            style,
            points: mix
                .levels
                .iter()
                .map(|level| (level.clients as f64, value(level)))
                .collect(),
        };
        throughput.push(line(mix.name.clone(), color.stroke_width(2), &|l| {
            l.queries_per_second
        }));
        latency.push(line(
            format!("{} p50", mix.name),
            color.stroke_width(2),
            &|l| l.latency.p50_ms,
        ));
        latency.push(line(
            format!("{} p99", mix.name),
            color.mix(0.55).stroke_width(2),
            &|l| l.latency.p99_ms,
        ));
    }
    against_clients(
        &left,
        "Throughput",
        "queries/s (log scale)",
        &throughput,
        &|y| format!("{y:.0}"),
    )?;
    against_clients(
        &right,
        "Latency under load",
        "ms (log scale)",
        &latency,
        &|y| format_ms(*y),
    )?;
    root.present().map_err(|e| e.to_string())
}

/// Lines on log-log axes, x the number of clients.
fn against_clients(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    lines: &[Line],
    y_format: &dyn Fn(&f64) -> String,
) -> Result<(), String> {
    let mut clients: Vec<f64> = lines
        .iter()
        .flat_map(|line| line.points.iter().map(|p| p.0))
        .collect();
    clients.sort_by(f64::total_cmp);
    clients.dedup();
    let max_clients = clients.last().copied().unwrap_or(1.0);
    let (low, high) = decades(
        lines
            .iter()
            .flat_map(|line| line.points.iter().map(|p| p.1)),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (0.8f64..max_clients * 1.25)
                .log_scale()
                .with_key_points(clients),
            (low..high).log_scale(),
        )
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("concurrent clients")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(y_format)
        .draw()
        .map_err(|e| e.to_string())?;
    for line in lines {
        let style = line.style;
        let points: Vec<(f64, f64)> = line.points.iter().map(|&(x, y)| (x, y.max(low))).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(|e| e.to_string())?
            .label(line.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 4, style.filled())))
            .map_err(|e| e.to_string())?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// Draws the series' labels in a box.
fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 13))
        .draw()
        .map_err(|e| e.to_string())
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
    legend(&mut chart, SeriesLabelPosition::UpperRight)
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
