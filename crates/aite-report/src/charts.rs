//! SVG charts for the HTML report. Line and bar charts are drawn with plotters'
//! SVG backend; data are pre-binned into `BTreeMap`s and downsampled by rank, so
//! the same package always gives the same bytes. The corruption heatmap and the
//! stage bar are plain SVG (a grid of cells is simpler written than plotted).

use crate::ReportError;
use plotters::prelude::*;
use std::collections::BTreeMap;

fn err(e: impl std::fmt::Display) -> ReportError {
    ReportError::Render { format: "SVG chart", reason: e.to_string() }
}

const BAR: RGBColor = RGBColor(0x3b, 0x6e, 0xa8);
const LIMIT: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const MARK: RGBColor = RGBColor(0xe6, 0x7e, 0x22);

/// Latency histogram (ms) on a log axis: 40 log-spaced bins from the minimum to
/// the maximum (latency is long-tailed: linear bins put nearly every query in
/// one); the threshold as a vertical line when given.
pub fn histogram(samples_ms: &[f64], threshold_ms: Option<f64>, title: &str) -> Result<String, ReportError> {
    let mut sorted: Vec<f64> = samples_ms.iter().copied().filter(|x| x.is_finite() && *x > 0.0).collect();
    if sorted.is_empty() {
        return Ok(String::new());
    }
    sorted.sort_by(f64::total_cmp);
    let lo = sorted[0].log10();
    let hi = sorted[sorted.len() - 1].log10().max(lo + 1e-3);
    let n = 40usize;
    let width = (hi - lo) / n as f64;
    let mut bins: BTreeMap<usize, u64> = BTreeMap::new();
    for &x in &sorted {
        let i = (((x.log10() - lo) / width) as usize).min(n - 1);
        *bins.entry(i).or_insert(0) += 1;
    }
    let ymax = bins.values().copied().max().unwrap_or(1) as f64 * 1.1;
    let (xlo, xhi) = log_range(lo, hi, threshold_ms);
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut ch = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(52)
            .build_cartesian_2d(xlo..xhi, 0.0..ymax)
            .map_err(err)?;
        ch.configure_mesh().x_desc("latency (ms, log scale)").y_desc("queries").x_labels(8).x_label_formatter(&log_label).disable_mesh().draw().map_err(err)?;
        ch.draw_series(bins.iter().map(|(&i, &c)| {
            let x0 = lo + i as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width * 0.92, c as f64)], BAR.filled())
        }))
        .map_err(err)?;
        if let Some(t) = threshold_ms.filter(|t| *t > 0.0) {
            ch.draw_series(LineSeries::new(vec![(t.log10(), 0.0), (t.log10(), ymax)], LIMIT.stroke_width(2))).map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// The x range (log10 ms) covering the data and the threshold, with a little margin.
fn log_range(lo: f64, hi: f64, threshold_ms: Option<f64>) -> (f64, f64) {
    let t = threshold_ms.filter(|t| *t > 0.0).map(f64::log10);
    let lo = t.map_or(lo, |t| lo.min(t));
    let hi = t.map_or(hi, |t| hi.max(t));
    let pad = (hi - lo) * 0.03;
    (lo - pad, hi + pad)
}

/// A log10(ms) axis value as milliseconds.
fn log_label(x: &f64) -> String {
    let v = 10f64.powf(*x);
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Empirical CDF of latency (ms) on a log axis, downsampled to at most 400 points by rank.
pub fn cdf(samples_ms: &[f64], threshold_ms: Option<f64>, title: &str) -> Result<String, ReportError> {
    let mut sorted: Vec<f64> = samples_ms.iter().copied().filter(|x| x.is_finite() && *x > 0.0).collect();
    if sorted.is_empty() {
        return Ok(String::new());
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let step = n.div_ceil(400).max(1);
    let mut pts: Vec<(f64, f64)> = (0..n).step_by(step).map(|i| (sorted[i].log10(), (i + 1) as f64 / n as f64)).collect();
    pts.push((sorted[n - 1].log10(), 1.0));
    let (xlo, xhi) = log_range(sorted[0].log10(), sorted[n - 1].log10().max(sorted[0].log10() + 1e-3), threshold_ms);
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut ch = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(52)
            .build_cartesian_2d(xlo..xhi, 0.0..1.0)
            .map_err(err)?;
        ch.configure_mesh().x_desc("latency (ms, log scale)").y_desc("fraction of queries").x_labels(8).x_label_formatter(&log_label).draw().map_err(err)?;
        ch.draw_series(LineSeries::new(pts, BAR.stroke_width(2))).map_err(err)?;
        if let Some(t) = threshold_ms.filter(|t| *t > 0.0) {
            ch.draw_series(LineSeries::new(vec![(t.log10(), 0.0), (t.log10(), 1.0)], LIMIT.stroke_width(2))).map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// Points over time: `(t_ms, latency_ms, marked)`; marked points (first frame after idle) in orange,
/// an optional horizontal limit line (the frame period).
pub fn timeline(points: &[(f64, f64, bool)], limit_ms: Option<f64>, title: &str, x_desc: &str) -> Result<String, ReportError> {
    if points.is_empty() {
        return Ok(String::new());
    }
    let xmax = points.iter().map(|p| p.0).fold(0.0, f64::max).max(1e-6);
    let ymax = points.iter().map(|p| p.1).fold(limit_ms.unwrap_or(0.0), f64::max).max(1e-6) * 1.1;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut ch = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(52)
            .build_cartesian_2d(0.0..xmax * 1.02, 0.0..ymax)
            .map_err(err)?;
        ch.configure_mesh().x_desc(x_desc).y_desc("latency (ms)").disable_mesh().draw().map_err(err)?;
        ch.draw_series(points.iter().filter(|p| !p.2).map(|p| Circle::new((p.0, p.1), 2, BAR.filled()))).map_err(err)?;
        ch.draw_series(points.iter().filter(|p| p.2).map(|p| TriangleMarker::new((p.0, p.1), 5, MARK.filled()))).map_err(err)?;
        if let Some(l) = limit_ms {
            ch.draw_series(LineSeries::new(vec![(0.0, l), (xmax * 1.02, l)], LIMIT.stroke_width(2))).map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// Lines `(name, points)` on shared axes (y a fraction 0..1).
pub fn lines(series: &[(String, Vec<(f64, f64)>)], title: &str, x_desc: &str, y_desc: &str) -> Result<String, ReportError> {
    let xmax = series.iter().flat_map(|s| s.1.iter().map(|p| p.0)).fold(0.0, f64::max).max(1.0);
    let xmin = series.iter().flat_map(|s| s.1.iter().map(|p| p.0)).fold(xmax, f64::min).min(xmax - 1e-6);
    if series.iter().all(|s| s.1.is_empty()) {
        return Ok(String::new());
    }
    let palette = [BAR, LIMIT, MARK, RGBColor(0x27, 0xae, 0x60), RGBColor(0x8e, 0x44, 0xad), RGBColor(0x7f, 0x8c, 0x8d)];
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut ch = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(52)
            .build_cartesian_2d(xmin..xmax, 0.0..1.05)
            .map_err(err)?;
        ch.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw().map_err(err)?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let c = palette[i % palette.len()];
            ch.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        }
        ch.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).position(SeriesLabelPosition::LowerLeft).draw().map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(s)
}

/// XML-escape text for hand-written SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Corruption x severity heatmap of accuracy: one row per corruption, one column per severity.
pub fn heatmap(cells: &BTreeMap<(String, u64), f64>, rows: &[String], clean: Option<f64>) -> String {
    let severities: Vec<u64> = cells.keys().map(|k| k.1).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let (cw, ch, left, top) = (56.0, 18.0, 170.0, 40.0);
    let w = (left + cw * severities.len() as f64 + 20.0).max(460.0);
    let h = top + ch * rows.len() as f64 + 30.0;
    let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#);
    s += &format!(r#"<text x="10" y="16" font-size="13">accuracy by corruption and severity{}</text>"#, clean.map(|c| format!(" (clean {:.1}%)", c * 100.0)).unwrap_or_default());
    s += &format!(r#"<text x="{}" y="{}" text-anchor="end">severity</text>"#, left - 6.0, top - 6.0);
    for (j, sev) in severities.iter().enumerate() {
        s += &format!(r#"<text x="{}" y="{}" text-anchor="middle">{sev}</text>"#, left + cw * j as f64 + cw / 2.0, top - 6.0);
    }
    for (i, row) in rows.iter().enumerate() {
        let y = top + ch * i as f64;
        s += &format!(r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, left - 6.0, y + 13.0, esc(row));
        for (j, sev) in severities.iter().enumerate() {
            let x = left + cw * j as f64;
            match cells.get(&(row.clone(), *sev)) {
                Some(&a) => {
                    // 1.0 green, 0.5 yellow, 0.0 red.
                    let (r, g) = if a >= 0.5 { ((2.0 * (1.0 - a) * 230.0) as u8, 190u8) } else { (230u8, (2.0 * a * 190.0) as u8) };
                    s += &format!(r#"<rect x="{x}" y="{y}" width="{}" height="{}" fill="rgb({r},{g},90)"/><text x="{}" y="{}" text-anchor="middle">{:.0}%</text>"#, cw - 1.0, ch - 1.0, x + cw / 2.0, y + 13.0, a * 100.0);
                }
                None => s += &format!(r##"<rect x="{x}" y="{y}" width="{}" height="{}" fill="#ddd"/><text x="{}" y="{}" text-anchor="middle">not run</text>"##, cw - 1.0, ch - 1.0, x + cw / 2.0, y + 13.0),
            }
        }
    }
    s += "</svg>";
    s
}

/// A horizontal stacked bar of mean stage latencies `(stage, ms)`.
pub fn stage_bar(stages: &[(String, f64)], title: &str) -> String {
    let total: f64 = stages.iter().map(|s| s.1).sum();
    if total <= 0.0 {
        return String::new();
    }
    let colors = ["#3b6ea8", "#27ae60", "#e67e22", "#8e44ad", "#7f8c8d"];
    let (w, left) = (600.0, 20.0);
    let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{}" viewBox="0 0 640 {}" font-family="sans-serif" font-size="11"><text x="{left}" y="16" font-size="13">{}</text>"#, 80 + 16 * stages.len().div_ceil(2), 80 + 16 * stages.len().div_ceil(2), esc(title));
    let mut x = left;
    for (i, (name, ms)) in stages.iter().enumerate() {
        let bw = w * ms / total;
        let c = colors[i % colors.len()];
        s += &format!(r#"<rect x="{x:.2}" y="28" width="{bw:.2}" height="26" fill="{c}"/>"#);
        s += &format!(r#"<rect x="{}" y="{}" width="10" height="10" fill="{c}"/><text x="{}" y="{}">{} {:.4} ms ({:.1}%)</text>"#, left + 300.0 * (i % 2) as f64, 66 + 16 * (i / 2), left + 300.0 * (i % 2) as f64 + 14.0, 75 + 16 * (i / 2), esc(name), ms, 100.0 * ms / total);
        x += bw;
    }
    s += "</svg>";
    s
}
