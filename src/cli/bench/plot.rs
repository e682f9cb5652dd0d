//! SVG plots of the bench results (plotters, SVG backend only).

use super::SweepPoint;
use anyhow::anyhow;
use eventflow::bench::latency::LatencyPoint;
use plotters::prelude::*;
use std::path::Path;

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plot: {e:?}")
}

/// Events/s (1 worker) against the number of Triggers, log-scaled x axis.
pub fn throughput(sweep: &[SweepPoint], path: &Path) -> anyhow::Result<()> {
    let pts: Vec<(f64, f64)> = sweep
        .iter()
        .map(|p| (p.triggers.max(1) as f64, p.row.eps() / 1e6))
        .collect();
    let x_max = pts.iter().map(|p| p.0).fold(1.0, f64::max) * 2.0;
    let y_max = pts.iter().map(|p| p.1).fold(0.0, f64::max) * 1.2 + 1e-3;
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Replay throughput vs Triggers (1 Broker, 1 worker)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((0.5f64..x_max).log_scale(), 0f64..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("exact-type Triggers")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("million events/s")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(pts.clone(), &BLUE))
        .map_err(err)?;
    chart
        .draw_series(pts.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// p50 / p99 / p99.9 latency (µs) against the offered rate, and the floor's p99 (the same
/// open loop without the engine) when measured.
pub fn latency(points: &[LatencyPoint], floor: &[LatencyPoint], path: &Path) -> anyhow::Result<()> {
    let x_max = points.iter().map(|p| p.offered / 1e3).fold(0.0, f64::max) * 1.1 + 1e-3;
    let y_max = points.iter().map(|p| p.p999_us).fold(0.0, f64::max) * 1.2 + 1.0;
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Latency vs offered rate (library API, open loop)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("offered thousand events/s")
        .y_desc("latency µs")
        .draw()
        .map_err(err)?;
    type Quantile = fn(&LatencyPoint) -> f64;
    let series: [(&str, Quantile, RGBColor); 3] = [
        ("p50", |p| p.p50_us, BLUE),
        ("p99", |p| p.p99_us, RED),
        ("p99.9", |p| p.p999_us, BLACK),
    ];
    for (name, f, color) in series {
        let pts: Vec<(f64, f64)> = points.iter().map(|p| (p.offered / 1e3, f(p))).collect();
        chart
            .draw_series(LineSeries::new(pts, color))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    if !floor.is_empty() {
        let pts: Vec<(f64, f64)> = floor.iter().map(|p| (p.offered / 1e3, p.p99_us)).collect();
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(LineSeries::new(pts, grey))
            .map_err(err)?
            .label("floor p99 (no engine)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
