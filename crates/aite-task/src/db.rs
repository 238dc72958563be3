//! The DB (Differentiable Binarization) text-detection post-process of PP-OCR: the
//! probability map becomes quadrilateral text boxes.
//!
//! The steps and constants are PaddleOCR's `DBPostProcess` as rapidocr-onnxruntime
//! 1.4.4 runs it: threshold the map, dilate with a 2x2 kernel, follow every border
//! (outer and hole, Suzuki-Abe as `cv2.findContours(RETR_LIST)`), take each border's
//! minimum-area rectangle, drop it when its short side is under `min_size` or the mean
//! probability inside it ("fast" score) is under `box_thresh`, expand it by
//! `area * unclip_ratio / perimeter` (the offset pyclipper computes, reproduced for a
//! convex quad: integer vertices, round joins at arc tolerance 0.25), take the
//! minimum-area rectangle again and scale it to the image.

use serde::{Deserialize, Serialize};

/// A text box: four corners (top-left, top-right, bottom-right, bottom-left) in pixels.
pub type Quad = [[f32; 2]; 4];

/// The DB post-process parameters (PaddleOCR / rapidocr defaults in [`Default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbParams {
    /// A map pixel is text when its probability is strictly above this.
    pub thresh: f32,
    /// A box is kept when the mean probability inside it is at least this.
    pub box_thresh: f32,
    /// At most this many borders are examined, in the order they are found.
    pub max_candidates: usize,
    /// The box grows by `area * unclip_ratio / perimeter` on every side.
    pub unclip_ratio: f64,
    /// Dilate the binary map with a 2x2 kernel first.
    pub use_dilation: bool,
    /// Shortest side kept before the expansion (after it: `min_size + 2`).
    pub min_size: f32,
}

impl Default for DbParams {
    fn default() -> Self {
        DbParams { thresh: 0.3, box_thresh: 0.5, max_candidates: 1000, unclip_ratio: 1.6, use_dilation: true, min_size: 3.0 }
    }
}

/// One detected text region: its box in destination pixels and its DB score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextBox {
    pub quad: Quad,
    /// Mean probability of the map inside the box before expansion.
    pub score: f32,
}

/// Boxes of a `height x width` probability map, scaled to a `dest_w x dest_h` image
/// (rounded half to even, clipped to `[0, dest]`, as PaddleOCR does), in border order.
pub fn db_boxes(map: &[f32], width: usize, height: usize, params: &DbParams, dest_w: usize, dest_h: usize) -> Vec<TextBox> {
    let mut bitmap: Vec<u8> = map.iter().map(|&p| u8::from(p > params.thresh)).collect();
    if params.use_dilation {
        bitmap = dilate_2x2(&bitmap, width, height);
    }
    let mut boxes = Vec::new();
    for contour in find_contours(&bitmap, width, height).into_iter().take(params.max_candidates) {
        let pts: Vec<[f64; 2]> = contour.iter().map(|&(x, y)| [x as f64, y as f64]).collect();
        let Some((quad, short)) = mini_box(&pts) else { continue };
        if short < params.min_size {
            continue;
        }
        let score = box_score_fast(map, width, height, &quad);
        if params.box_thresh > score {
            continue;
        }
        let expanded = unclip(&quad, params.unclip_ratio);
        let pts: Vec<[f64; 2]> = expanded.iter().map(|&(x, y)| [x as f64, y as f64]).collect();
        let Some((mut quad, short)) = mini_box(&pts) else { continue };
        if short < params.min_size + 2.0 {
            continue;
        }
        for p in quad.iter_mut() {
            p[0] = (p[0] / width as f32 * dest_w as f32).round_ties_even().clamp(0.0, dest_w as f32);
            p[1] = (p[1] / height as f32 * dest_h as f32).round_ties_even().clamp(0.0, dest_h as f32);
        }
        boxes.push(TextBox { quad, score });
    }
    boxes
}

/// `cv2.dilate` with a 2x2 kernel of ones (anchor at its centre, (1, 1)): each pixel
/// becomes the maximum of itself and its left, upper and upper-left neighbours.
fn dilate_2x2(b: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = b.to_vec();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let mut v = b[i];
            if x > 0 {
                v |= b[i - 1];
            }
            if y > 0 {
                v |= b[i - w];
                if x > 0 {
                    v |= b[i - w - 1];
                }
            }
            out[i] = v;
        }
    }
    out
}

/// Every border of the non-zero regions of a binary image, outer borders and hole
/// borders alike (Suzuki & Abe 1985, algorithm 1, 8-connected foreground, as
/// `cv2.findContours(RETR_LIST)`), each as the pixels it passes through.
pub fn find_contours(bitmap: &[u8], width: usize, height: usize) -> Vec<Vec<(i32, i32)>> {
    // Labels on a frame of zeros one pixel wide: 0 background, 1 unvisited foreground,
    // +-n border n (negative: the pixel's right neighbour is background).
    let (w, h) = (width as i64 + 2, height as i64 + 2);
    let mut f = vec![0i32; (w * h) as usize];
    for y in 0..height {
        for x in 0..width {
            f[((y as i64 + 1) * w + x as i64 + 1) as usize] = i32::from(bitmap[y * width + x] != 0);
        }
    }
    let idx = |x: i64, y: i64| (y * w + x) as usize;
    // Clockwise neighbour order starting east, in image coordinates (y down).
    const DIRS: [(i64, i64); 8] = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)];
    let dir_of = |dx: i64, dy: i64| DIRS.iter().position(|&d| d == (dx, dy)).expect("neighbours are adjacent");
    let mut nbd = 1;
    let mut contours = Vec::new();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let v = f[idx(x, y)];
            if v == 0 {
                continue;
            }
            let start = if v == 1 && f[idx(x - 1, y)] == 0 {
                Some((x - 1, y))
            } else if v >= 1 && f[idx(x + 1, y)] == 0 {
                Some((x + 1, y))
            } else {
                None
            };
            let Some((x2, y2)) = start else { continue };
            nbd += 1;
            let mut points = Vec::new();
            // (3.1) clockwise from (x2, y2) around (x, y) for a non-zero pixel.
            let d0 = dir_of(x2 - x, y2 - y);
            let found = (0..8).map(|k| (d0 + k) % 8).find(|&d| f[idx(x + DIRS[d].0, y + DIRS[d].1)] != 0);
            let Some(d1) = found else {
                f[idx(x, y)] = -nbd;
                contours.push(vec![(x as i32 - 1, y as i32 - 1)]);
                continue;
            };
            let (x1, y1) = (x + DIRS[d1].0, y + DIRS[d1].1);
            let (mut px, mut py) = (x1, y1); // (i2, j2)
            let (mut cx, mut cy) = (x, y); // (i3, j3)
            loop {
                points.push((cx as i32 - 1, cy as i32 - 1));
                // (3.3) counter-clockwise from the element after (px, py) around (cx, cy).
                let dp = dir_of(px - cx, py - cy);
                let mut east_zero = false;
                let mut next = None;
                for k in 1..=8 {
                    let d = (dp + 8 - k) % 8;
                    let (nx, ny) = (cx + DIRS[d].0, cy + DIRS[d].1);
                    if f[idx(nx, ny)] != 0 {
                        next = Some((nx, ny));
                        break;
                    }
                    if d == 0 {
                        east_zero = true;
                    }
                }
                let (nx, ny) = next.expect("the border has the pixel it came from");
                // (3.4)
                if east_zero {
                    f[idx(cx, cy)] = -nbd;
                } else if f[idx(cx, cy)] == 1 {
                    f[idx(cx, cy)] = nbd;
                }
                // (3.5)
                if (nx, ny) == (x, y) && (cx, cy) == (x1, y1) {
                    break;
                }
                (px, py, cx, cy) = (cx, cy, nx, ny);
            }
            contours.push(points);
        }
    }
    contours
}

/// Convex hull (Andrew's monotone chain), counter-clockwise, without collinear points.
fn convex_hull(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut p = points.to_vec();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    let mut hull: Vec<[f64; 2]> = Vec::with_capacity(2 * p.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[f64; 2]>> = if pass == 0 { Box::new(p.iter()) } else { Box::new(p.iter().rev()) };
        for &q in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0 {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

/// The minimum-area enclosing rectangle (`cv2.minAreaRect` + `cv2.boxPoints`): its
/// four corners, and its short side; `None` for no points.
pub fn min_area_rect(points: &[[f64; 2]]) -> Option<([[f64; 2]; 4], f64)> {
    let hull = convex_hull(points);
    match hull.len() {
        0 => return None,
        1 => return Some(([hull[0]; 4], 0.0)),
        _ => {}
    }
    let mut best: Option<(f64, [[f64; 2]; 4], f64)> = None;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
        if len == 0.0 {
            continue;
        }
        let u = [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
        let v = [-u[1], u[0]];
        let (mut u0, mut u1, mut v0, mut v1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in &hull {
            let (pu, pv) = ((p[0] - a[0]) * u[0] + (p[1] - a[1]) * u[1], (p[0] - a[0]) * v[0] + (p[1] - a[1]) * v[1]);
            (u0, u1, v0, v1) = (u0.min(pu), u1.max(pu), v0.min(pv), v1.max(pv));
        }
        let area = (u1 - u0) * (v1 - v0);
        if best.as_ref().is_none_or(|(best_area, _, _)| area < *best_area) {
            let corner = |s: f64, t: f64| [a[0] + s * u[0] + t * v[0], a[1] + s * u[1] + t * v[1]];
            best = Some((area, [corner(u0, v0), corner(u1, v0), corner(u1, v1), corner(u0, v1)], (u1 - u0).min(v1 - v0)));
        }
    }
    best.map(|(_, corners, short)| (corners, short))
}

/// PaddleOCR's `get_mini_boxes`: the minimum-area rectangle in f32, corners ordered
/// top-left, top-right, bottom-right, bottom-left (by x, then y within each side).
pub fn mini_box(points: &[[f64; 2]]) -> Option<(Quad, f32)> {
    let (corners, short) = min_area_rect(points)?;
    let mut p: Vec<[f32; 2]> = corners.iter().map(|c| [c[0] as f32, c[1] as f32]).collect();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (i1, i4) = if p[1][1] > p[0][1] { (0, 1) } else { (1, 0) };
    let (i2, i3) = if p[3][1] > p[2][1] { (2, 3) } else { (3, 2) };
    Some(([p[i1], p[i2], p[i3], p[i4]], short as f32))
}

/// PaddleOCR's `box_score_fast`: the mean of the map over the filled quad (vertices
/// truncated to integers inside the quad's clipped bounding box, as `cv2.fillPoly`).
fn box_score_fast(map: &[f32], w: usize, h: usize, quad: &Quad) -> f32 {
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in quad {
        (x_lo, x_hi, y_lo, y_hi) = (x_lo.min(p[0]), x_hi.max(p[0]), y_lo.min(p[1]), y_hi.max(p[1]));
    }
    let clip = |v: f32, n: usize| (v as i64).clamp(0, n as i64 - 1);
    let (x0, x1) = (clip(x_lo.floor(), w), clip(x_hi.ceil(), w));
    let (y0, y1) = (clip(y_lo.floor(), h), clip(y_hi.ceil(), h));
    let poly: Vec<[i64; 2]> = quad.iter().map(|p| [(p[0] - x0 as f32) as i64, (p[1] - y0 as f32) as i64]).collect();
    let mask = fill_poly(&poly, (x1 - x0 + 1) as usize, (y1 - y0 + 1) as usize);
    let (mut sum, mut n) = (0f64, 0usize);
    for (i, &m) in mask.iter().enumerate() {
        if m {
            let (mx, my) = (i % (x1 - x0 + 1) as usize, i / (x1 - x0 + 1) as usize);
            sum += map[(y0 as usize + my) * w + x0 as usize + mx] as f64;
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64) as f32
    }
}

/// A filled polygon with integer vertices in a `w x h` mask, as `cv2.fillPoly`: the
/// pixels whose centres lie inside or on it, and the 8-connected lines of its edges.
fn fill_poly(poly: &[[i64; 2]], w: usize, h: usize) -> Vec<bool> {
    let mut mask = vec![false; w * h];
    let mut set = |x: i64, y: i64| {
        if (0..w as i64).contains(&x) && (0..h as i64).contains(&y) {
            mask[y as usize * w + x as usize] = true;
        }
    };
    let n = poly.len();
    for y in 0..h as i64 {
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for i in 0..n {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            let (ya, yb) = (a[1].min(b[1]), a[1].max(b[1]));
            if y < ya || y > yb {
                continue;
            }
            if a[1] == b[1] {
                (lo, hi) = (lo.min(a[0].min(b[0]) as f64), hi.max(a[0].max(b[0]) as f64));
            } else {
                let x = a[0] as f64 + (y - a[1]) as f64 * (b[0] - a[0]) as f64 / (b[1] - a[1]) as f64;
                (lo, hi) = (lo.min(x), hi.max(x));
            }
        }
        if lo <= hi {
            for x in lo.ceil() as i64..=hi.floor() as i64 {
                set(x, y);
            }
        }
    }
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + 1) % n]);
        let steps = (b[0] - a[0]).abs().max((b[1] - a[1]).abs());
        for s in 0..=steps {
            let t = if steps == 0 { 0.0 } else { s as f64 / steps as f64 };
            set((a[0] as f64 + t * (b[0] - a[0]) as f64).round() as i64, (a[1] as f64 + t * (b[1] - a[1]) as f64).round() as i64);
        }
    }
    mask
}

/// PaddleOCR's `unclip`: offset the quad outwards by `area * ratio / perimeter`
/// (Shapely's area and length of the f32 quad) the way `pyclipper.PyclipperOffset`
/// does with `JT_ROUND`, `ET_CLOSEDPOLYGON` and its default arc tolerance 0.25:
/// vertices truncated to integers, each edge moved along its unit normal, each corner
/// rounded with the Clipper 6.4.2 arc steps, every point rounded half away from zero.
/// For the convex quads DB produces the union Clipper applies afterwards changes no
/// point of the hull, so it is not repeated here.
pub fn unclip(quad: &Quad, ratio: f64) -> Vec<(i64, i64)> {
    let q: Vec<[f64; 2]> = quad.iter().map(|p| [p[0] as f64, p[1] as f64]).collect();
    let (mut area2, mut perimeter) = (0.0, 0.0);
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        area2 += a[0] * b[1] - b[0] * a[1];
        perimeter += ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
    }
    if perimeter == 0.0 {
        return vec![];
    }
    let delta = (area2 / 2.0).abs() * ratio / perimeter;
    // pyclipper truncates float coordinates; AddPath drops repeated points.
    let mut src: Vec<(i64, i64)> = Vec::with_capacity(4);
    for p in quad {
        let v = (p[0] as i64, p[1] as i64);
        if src.last() != Some(&v) {
            src.push(v);
        }
    }
    while src.len() > 1 && src.first() == src.last() {
        src.pop();
    }
    if src.len() < 3 {
        return vec![];
    }
    // Clipper's Orientation is Area >= 0 with its sign convention; a negative one is reversed.
    let clipper_area: f64 = (0..src.len())
        .map(|i| {
            let (j, k) = (src[(i + src.len() - 1) % src.len()], src[i]);
            (j.0 as f64 + k.0 as f64) * (j.1 as f64 - k.1 as f64)
        })
        .sum::<f64>()
        * -0.5;
    if clipper_area < 0.0 {
        src.reverse();
    }
    clipper_offset_round(&src, delta)
}

/// Clipper 6.4.2 `ClipperOffset::DoOffset` for one closed polygon with round joins.
fn clipper_offset_round(src: &[(i64, i64)], delta: f64) -> Vec<(i64, i64)> {
    let round = |v: f64| if v < 0.0 { (v - 0.5) as i64 } else { (v + 0.5) as i64 };
    let arc_tolerance = 0.25f64;
    let y = if arc_tolerance > delta.abs() * 0.25 { delta.abs() * 0.25 } else { arc_tolerance };
    let mut steps = std::f64::consts::PI / (1.0 - y / delta.abs()).acos();
    if steps > delta.abs() * std::f64::consts::PI {
        steps = delta.abs() * std::f64::consts::PI;
    }
    let two_pi = 2.0 * std::f64::consts::PI;
    let (mut sin, cos) = ((two_pi / steps).sin(), (two_pi / steps).cos());
    let steps_per_rad = steps / two_pi;
    if delta < 0.0 {
        sin = -sin;
    }
    let n = src.len();
    let normal = |a: (i64, i64), b: (i64, i64)| {
        let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
        if dx == 0.0 && dy == 0.0 {
            return (0.0, 0.0);
        }
        let f = 1.0 / (dx * dx + dy * dy).sqrt();
        (dy * f, -dx * f)
    };
    let normals: Vec<(f64, f64)> = (0..n).map(|j| normal(src[j], src[(j + 1) % n])).collect();
    let mut out = Vec::new();
    let mut k = n - 1;
    for j in 0..n {
        let (nk, nj, p) = (normals[k], normals[j], (src[j].0 as f64, src[j].1 as f64));
        let mut sin_a = nk.0 * nj.1 - nj.0 * nk.1;
        let at = |nx: f64, ny: f64| (round(p.0 + nx * delta), round(p.1 + ny * delta));
        if (sin_a * delta).abs() < 1.0 {
            let cos_a = nk.0 * nj.0 + nj.1 * nk.1;
            if cos_a > 0.0 {
                out.push(at(nk.0, nk.1));
                continue; // Clipper returns here without advancing k
            }
        } else {
            sin_a = sin_a.clamp(-1.0, 1.0);
        }
        if sin_a * delta < 0.0 {
            out.push(at(nk.0, nk.1));
            out.push(src[j]);
            out.push(at(nj.0, nj.1));
        } else {
            let a = sin_a.atan2(nk.0 * nj.0 + nk.1 * nj.1);
            let count = ((steps_per_rad * a.abs()).round() as i64).max(1);
            let (mut x, mut yv) = nk;
            for _ in 0..count {
                out.push(at(x, yv));
                let x2 = x;
                x = x * cos - sin * yv;
                yv = x2 * sin + yv * cos;
            }
            out.push(at(nj.0, nj.1));
        }
        k = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contours_of_a_ring_are_its_outer_and_hole_borders() {
        // A 5x5 square ring (3x3 hole of one background pixel... here a 1-pixel hole).
        let (w, h) = (7, 7);
        let mut b = vec![0u8; w * h];
        for y in 1..6 {
            for x in 1..6 {
                b[y * w + x] = 1;
            }
        }
        b[3 * w + 3] = 0;
        let c = find_contours(&b, w, h);
        assert_eq!(c.len(), 2, "{c:?}");
        // Outer border: the 16 pixels of the square's edge.
        assert_eq!(c[0].len(), 16);
        assert!(c[0].iter().all(|&(x, y)| x == 1 || x == 5 || y == 1 || y == 5));
        // Hole border: the 4-neighbours of the hole pixel (8-connected trace visits them).
        let mut hole = c[1].clone();
        hole.sort();
        hole.dedup();
        assert!(hole.contains(&(3, 2)) && hole.contains(&(2, 3)) && hole.contains(&(4, 3)) && hole.contains(&(3, 4)), "{hole:?}");
        // A lone pixel is a one-point contour; an empty map has none.
        let mut one = vec![0u8; 9];
        one[4] = 1;
        assert_eq!(find_contours(&one, 3, 3), vec![vec![(1, 1)]]);
        assert!(find_contours(&[0; 9], 3, 3).is_empty());
        // Foreground touching the image edge is still traced (OpenCV pads with zeros).
        assert_eq!(find_contours(&[1; 4], 2, 2).len(), 1);
    }

    #[test]
    fn min_area_rect_by_hand() {
        // Axis-aligned pixels spanning x 2..10, y 1..4: the rectangle through their centres.
        let pts: Vec<[f64; 2]> = [(2, 1), (10, 1), (10, 4), (2, 4), (5, 2)].iter().map(|&(x, y)| [x as f64, y as f64]).collect();
        let (quad, short) = mini_box(&pts).unwrap();
        assert_eq!(quad, [[2.0, 1.0], [10.0, 1.0], [10.0, 4.0], [2.0, 4.0]]);
        assert_eq!(short, 3.0);
        // A diamond (square rotated 45 degrees) of half-diagonal 2: side 2*sqrt(2).
        let d: Vec<[f64; 2]> = [[0.0, 2.0], [2.0, 0.0], [4.0, 2.0], [2.0, 4.0]].to_vec();
        let (_, short) = min_area_rect(&d).unwrap();
        assert!((short - 8f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn unclip_matches_pyclipper_on_a_rectangle() {
        // pyclipper 1.4.0: PyclipperOffset().AddPath([[0.7,0.7],[10.6,0.7],[10.6,5.5],[0.7,5.5]],
        // JT_ROUND, ET_CLOSEDPOLYGON); Execute(1.0) gives
        // [[11,0],[11,5],[10,6],[0,6],[-1,5],[-1,0],[0,-1],[10,-1]] (truncated to 0..10 x 0..5).
        let q: Quad = [[0.7, 0.7], [10.6, 0.7], [10.6, 5.5], [0.7, 5.5]];
        // delta = area * ratio / perimeter = 1 for ratio = perimeter / area.
        let (area, perim) = (9.9f64 * 4.8, 2.0 * (9.9f64 + 4.8));
        let mut got = unclip(&q, perim / area);
        got.sort();
        let mut want = vec![(11, 0), (11, 5), (10, 6), (0, 6), (-1, 5), (-1, 0), (0, -1), (10, -1)];
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn a_map_with_one_text_bar_gives_one_expanded_box() {
        // 40x20 map, probability 0.9 on x 10..=29, y 8..=11 (after 2x2 dilation: 10..=30, 8..=12).
        let (w, h) = (40, 20);
        let mut map = vec![0.0f32; w * h];
        for y in 8..12 {
            for x in 10..30 {
                map[y * w + x] = 0.9;
            }
        }
        let boxes = db_boxes(&map, w, h, &DbParams::default(), w, h);
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = &boxes[0];
        // The rectangle 10..30 x 8..12 (20 x 4): delta = 80 * 1.6 / 48 = 2.67, so the box
        // grows to about 7.3..32.7 x 5.3..14.7; pyclipper's integer points give 7..33 x 5..15.
        assert_eq!(b.quad, [[7.0, 5.0], [33.0, 5.0], [33.0, 15.0], [7.0, 15.0]], "{b:?}");
        assert!(b.score > 0.5 && b.score <= 0.9);
        // Below box_thresh (a faint bar) nothing is kept; a blank map has no box.
        let faint: Vec<f32> = map.iter().map(|&p| p * 0.5).collect();
        assert!(db_boxes(&faint, w, h, &DbParams::default(), w, h).is_empty());
        assert!(db_boxes(&vec![0.0; w * h], w, h, &DbParams::default(), w, h).is_empty());
    }
}
