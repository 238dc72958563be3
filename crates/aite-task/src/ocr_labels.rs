//! The OCR labels file: PaddleOCR's `Label.txt` (the format PPOCRLabel writes and
//! PaddleOCR's detection and end-to-end training reads), one image per line:
//!
//! ```text
//! images/package.png\t[{"transcription": "FARMHOUSE", "points": [[96, 40], [402, 40], [402, 95], [96, 95]]}]
//! images/blank.png\t[]
//! ```
//!
//! The image path (relative to the labels file's folder, or, as PPOCRLabel writes it,
//! to its parent), a tab, and a JSON array of the image's text lines in reading order:
//! `transcription` (the text; `"###"` marks a do-not-care region, as in ICDAR and
//! PaddleOCR), `points` (the polygon, at least 3 `[x, y]` pixel corners, convex: a concave or
//! self-intersecting polygon is refused, since the IoU clips convex polygons) and
//! PPOCRLabel's optional `difficult` (a do-not-care region too). An empty array is an
//! image without text. aite also accepts lines without `points` (text only, matched in
//! reading order); within one image either every line has points or none has.

use crate::TaskError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One labelled text line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrLabelledLine {
    pub text: String,
    /// Polygon corners in pixels of the image.
    pub polygon: Option<Vec<[f64; 2]>>,
    /// A do-not-care region (`###` or `difficult`): predictions inside it are not scored.
    pub ignore: bool,
}

/// An image with its labelled lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrLabelledImage {
    /// As written in the file.
    pub name: String,
    /// Resolved against the labels file.
    pub path: PathBuf,
    pub lines: Vec<OcrLabelledLine>,
}

impl OcrLabelledImage {
    /// Every line carries a polygon (so lines are matched by overlap, not reading order).
    pub fn has_polygons(&self) -> bool {
        !self.lines.is_empty() && self.lines.iter().all(|l| l.polygon.is_some())
    }
}

/// A labels file, read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrLabels {
    pub source: PathBuf,
    pub images: Vec<OcrLabelledImage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    transcription: String,
    #[serde(default)]
    points: Option<Vec<[f64; 2]>>,
    #[serde(default)]
    difficult: bool,
    /// PPOCRLabel's key-information fields, accepted and unused.
    #[serde(default)]
    key_cls: Option<serde_json::Value>,
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    linking: Option<serde_json::Value>,
}

impl OcrLabels {
    /// Read and check a labels file; errors name the file and line.
    pub fn read(path: &Path) -> Result<OcrLabels, TaskError> {
        let body = std::fs::read_to_string(path).map_err(|e| TaskError::Labels { path: path.to_path_buf(), line: 0, reason: format!("cannot read it: {e}") })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let mut labels = OcrLabels::parse(&body, path)?;
        for image in &mut labels.images {
            let here = base.join(&image.name);
            let parent = base.parent().map(|p| p.join(&image.name));
            image.path = match parent {
                Some(p) if !here.exists() && p.exists() => p,
                _ => here,
            };
        }
        Ok(labels)
    }

    /// Parse the text of a labels file (`source` names it in errors; paths stay as written).
    pub fn parse(body: &str, source: &Path) -> Result<OcrLabels, TaskError> {
        let err = |line: usize, reason: String| TaskError::Labels { path: source.to_path_buf(), line, reason };
        let mut images: Vec<OcrLabelledImage> = Vec::new();
        for (i, raw) in body.lines().enumerate() {
            let n = i + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.trim().is_empty() {
                continue;
            }
            let Some((name, json)) = raw.split_once('\t') else {
                return Err(err(n, "no tab between the image path and the JSON list of lines".into()));
            };
            if name.is_empty() {
                return Err(err(n, "empty image path".into()));
            }
            let parsed: Vec<RawLine> = serde_json::from_str(json).map_err(|e| err(n, format!("not a JSON list of {{\"transcription\", \"points\"}} objects: {e}")))?;
            let mut lines = Vec::new();
            for (k, l) in parsed.into_iter().enumerate() {
                let _ = (&l.key_cls, &l.id, &l.linking);
                if let Some(p) = &l.points {
                    if p.len() < 3 {
                        return Err(err(n, format!("text line {} has {} points; a polygon needs at least 3", k + 1, p.len())));
                    }
                    if p.iter().flatten().any(|v| !v.is_finite()) {
                        return Err(err(n, format!("text line {} has a non-finite coordinate", k + 1)));
                    }
                    if let Err(why) = convex(p) {
                        return Err(err(n, format!("text line {} polygon {why}; aite matches convex polygons (IoU by convex clipping): split a curved line into convex pieces or give its points in order", k + 1)));
                    }
                }
                let ignore = l.transcription == "###" || l.difficult;
                if ignore && l.points.is_none() {
                    return Err(err(n, format!("text line {} is a do-not-care region without points", k + 1)));
                }
                lines.push(OcrLabelledLine { text: l.transcription, polygon: l.points, ignore });
            }
            let with = lines.iter().filter(|l| l.polygon.is_some()).count();
            if with != 0 && with != lines.len() {
                return Err(err(n, format!("{with} of {} text lines have points: give points to every line of an image or to none", lines.len())));
            }
            if images.iter().any(|im| im.name == name) {
                return Err(err(n, format!("{name} is labelled twice")));
            }
            images.push(OcrLabelledImage { name: name.to_string(), path: PathBuf::from(name), lines });
        }
        if images.is_empty() {
            return Err(err(0, "no labelled image".into()));
        }
        Ok(OcrLabels { source: source.to_path_buf(), images })
    }
}

/// Whether `points` is a simple convex polygon (collinear and repeated corners allowed):
/// every turn has the same sense and the boundary winds exactly once (a pentagram turns
/// one way throughout but winds twice).
fn convex(points: &[[f64; 2]]) -> Result<(), &'static str> {
    let mut p: Vec<[f64; 2]> = points.to_vec();
    p.dedup();
    while p.len() > 1 && p.first() == p.last() {
        p.pop();
    }
    let n = p.len();
    if n < 3 {
        return Err("has fewer than 3 distinct corners");
    }
    let (mut sense, mut turning) = (0.0f64, 0.0f64);
    for i in 0..n {
        let (a, b, c) = (p[i], p[(i + 1) % n], p[(i + 2) % n]);
        let (e1, e2) = ([b[0] - a[0], b[1] - a[1]], [c[0] - b[0], c[1] - b[1]]);
        let cross = e1[0] * e2[1] - e1[1] * e2[0];
        let dot = e1[0] * e2[0] + e1[1] * e2[1];
        if cross.abs() > 1e-9 * e1[0].hypot(e1[1]) * e2[0].hypot(e2[1]) {
            if sense != 0.0 && cross.signum() != sense {
                return Err("is not convex (concave, or its corners are out of order so its edges cross)");
            }
            sense = cross.signum();
        }
        turning += cross.atan2(dot);
    }
    if sense == 0.0 {
        return Err("has all its corners on one line");
    }
    if (turning.abs() - std::f64::consts::TAU).abs() > 1e-6 {
        return Err("crosses itself (its boundary winds more than once)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ppocrlabel_lines_and_names_file_and_line_on_errors() {
        let body = "a.png\t[{\"transcription\": \"NET WT.\", \"points\": [[0,0],[10,0],[10,5],[0,5]], \"difficult\": false}, {\"transcription\": \"###\", \"points\": [[0,9],[4,9],[4,12]]}]\n\nb.png\t[]\r\nc.png\t[{\"transcription\": \"210\"}]\n";
        let l = OcrLabels::parse(body, Path::new("Label.txt")).unwrap();
        assert_eq!(l.images.len(), 3);
        assert_eq!(l.images[0].lines[0].text, "NET WT.");
        assert!(!l.images[0].lines[0].ignore && l.images[0].lines[1].ignore);
        assert!(l.images[0].has_polygons() && !l.images[1].has_polygons() && !l.images[2].has_polygons());
        assert_eq!(l.images[2].lines[0].polygon, None);
        for (body, line, needle) in [
            ("a.png [] \n", 1, "no tab"),
            ("a.png\t[]\nb.png\t[{\"text\": \"x\"}]\n", 2, "transcription"),
            ("a.png\t[{\"transcription\": \"x\", \"points\": [[0,0],[1,1]]}]", 1, "at least 3"),
            ("a.png\t[{\"transcription\": \"x\", \"points\": [[0,0],[1,1],[2,0]]}, {\"transcription\": \"y\"}]", 1, "every line"),
            ("a.png\t[]\na.png\t[]", 2, "twice"),
            ("a.png\t[{\"transcription\": \"###\"}]", 1, "do-not-care"),
            // A bow tie (a quad with its corners out of order), a concave curved-line label, a pentagram, a flat one.
            ("a.png\t[]\nb.png\t[{\"transcription\": \"x\", \"points\": [[0,0],[10,5],[10,0],[0,5]]}]", 2, "line 1 polygon is not convex"),
            ("a.png\t[{\"transcription\": \"x\", \"points\": [[0,0],[10,0],[10,10],[5,3],[0,10]]}]", 1, "not convex"),
            ("a.png\t[{\"transcription\": \"x\", \"points\": [[0,10],[6,-8],[-10,3],[10,3],[-6,-8]]}]", 1, "crosses itself"),
            ("a.png\t[{\"transcription\": \"x\", \"points\": [[0,0],[1,1],[2,2]]}]", 1, "one line"),
            ("\n", 0, "no labelled image"),
        ] {
            let e = OcrLabels::parse(body, Path::new("dir/Label.txt")).unwrap_err();
            let TaskError::Labels { line: got, .. } = &e else { panic!("{e}") };
            let text = e.to_string();
            assert!(*got == line && text.contains("dir/Label.txt") && text.contains(needle), "{text}");
        }
        // Convex polygons pass, with a repeated or collinear corner and in either orientation.
        let ok = "a.png\t[{\"transcription\": \"x\", \"points\": [[0,0],[5,0],[10,0],[10,5],[10,5],[0,5]]}, {\"transcription\": \"y\", \"points\": [[0,5],[10,5],[10,0],[0,0],[0,5]]}]";
        assert_eq!(OcrLabels::parse(ok, Path::new("Label.txt")).unwrap().images[0].lines.len(), 2);
        let e = OcrLabels::read(Path::new("/nonexistent/Label.txt")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/Label.txt"), "{e}");
    }
}
