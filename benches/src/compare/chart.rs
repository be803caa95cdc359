//! The SVG chart: PUSH/PULL throughput (MB/s, log scale) by message size, one line
//! per contender (a stack's colour; a Rust stack's line solid on the current-thread
//! runtime, dashed on the multi-thread one), one panel per transport. Text is SVG `<text>`, so no font library is
//! needed to draw it.

use std::path::Path;

use plotters::prelude::*;

use super::cases::{Kind, SIZES, size_name};
use super::results::{Metric, Results};
use super::stacks::{Contender, Flavor, Stack, Transport};

fn colour(stack: Stack) -> RGBColor {
    match stack {
        Stack::Purezmq => RGBColor(214, 39, 40),
        Stack::Libzmq => RGBColor(31, 119, 180),
        Stack::LibzmqPyzmq => RGBColor(23, 190, 207),
        Stack::ZmqRs => RGBColor(44, 160, 44),
        Stack::Omq => RGBColor(148, 103, 189),
        Stack::Rzmq => RGBColor(188, 189, 34),
        Stack::Raw => RGBColor(127, 127, 127),
        // Not in the chart (the broker cases only), but a colour all the same.
        Stack::Majortomo => RGBColor(255, 127, 14),
        Stack::ZguidePy => RGBColor(140, 86, 75),
    }
}

/// The (size index, MB/s) points of `contender` over `transport`.
fn points(results: &Results, transport: Transport, contender: Contender) -> Vec<(f64, f64)> {
    SIZES
        .iter()
        .enumerate()
        .filter_map(|(i, &size)| {
            let kind = Kind::Throughput {
                transport,
                size,
                curve: false,
            };
            let value = results
                .of(&kind)?
                .get(&contender)?
                .median(Metric::MegabytesPerSec)?;
            Some((i as f64, value))
        })
        .collect()
}

/// Draws the chart to `path`; `Ok(false)` when there was nothing to draw.
pub fn draw(results: &Results, path: &Path) -> Result<bool, String> {
    let transports = [Transport::Tcp, Transport::Ipc, Transport::Inproc];
    let mut contenders: Vec<Contender> = results
        .cases
        .iter()
        .flat_map(|(_, outcomes)| outcomes.keys().copied())
        .collect();
    contenders.sort();
    contenders.dedup();
    let all: Vec<f64> = transports
        .iter()
        .flat_map(|&t| contenders.iter().map(move |&c| points(results, t, c)))
        .flatten()
        .map(|(_, y)| y)
        .collect();
    if all.is_empty() {
        return Ok(false);
    }
    let low = all.iter().copied().fold(f64::INFINITY, f64::min).max(0.01) / 2.0;
    let high = all.iter().copied().fold(0.0, f64::max) * 2.0;
    let error = |e: &dyn std::fmt::Display| format!("drawing {}: {e}", path.display());
    let root = SVGBackend::new(path, (1500, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| error(&e))?;
    let root = root
        .titled(
            "PUSH/PULL throughput (payload MB/s, log scale; median of the runs)",
            ("sans-serif", 22),
        )
        .map_err(|e| error(&e))?;
    let panels = root.split_evenly((1, transports.len()));
    for (panel, transport) in panels.iter().zip(transports) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("over {}", transport.key()), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.3f64..(SIZES.len() as f64 - 0.7), (low..high).log_scale())
            .map_err(|e| error(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(SIZES.len())
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 && (i as usize) < SIZES.len() {
                    size_name(SIZES[i as usize])
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc("message size")
            .y_desc("MB/s")
            .draw()
            .map_err(|e| error(&e))?;
        for &contender in &contenders {
            let line = points(results, transport, contender);
            if line.is_empty() {
                continue;
            }
            let style = colour(contender.stack);
            let width = if contender.stack == Stack::Purezmq {
                3
            } else {
                2
            };
            let stroke = style.stroke_width(width);
            let label = contender.to_string();
            if contender.runtime == Some(Flavor::MultiThread) {
                chart
                    .draw_series(DashedLineSeries::new(line.clone(), 6, 4, stroke))
                    .map_err(|e| error(&e))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 6, y)], style.stroke_width(3))
                    });
            } else {
                chart
                    .draw_series(LineSeries::new(line.clone(), stroke))
                    .map_err(|e| error(&e))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], style.stroke_width(3))
                    });
            }
            chart
                .draw_series(line.iter().map(|&p| Circle::new(p, 3, style.filled())))
                .map_err(|e| error(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| error(&e))?;
    }
    root.present().map_err(|e| error(&e))?;
    Ok(true)
}
