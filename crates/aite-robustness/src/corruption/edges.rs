//! The 8-bit OpenCV operations of ImageNet-C's water spatter: Canny edges,
//! the 5x5 chamfer distance transform (`DIST_L2`, mask 5), box blur with
//! rounding, histogram equalisation and `filter2D` into `CV_8U`.
//! Single-channel `u8`/`f32` buffers of `width x height`.

use super::filters::{border_index, Border};

/// `cv2.Canny(img, low, high)` with a 3x3 Sobel aperture and the L1 gradient.
pub fn canny(img: &[u8], w: usize, h: usize, low: f32, high: f32) -> Vec<u8> {
    let at = |x: i64, y: i64| img[border_index(y, h, Border::Reflect101) * w + border_index(x, w, Border::Reflect101)] as f32;
    let mut gx = vec![0f32; w * h];
    let mut gy = vec![0f32; w * h];
    let mut mag = vec![0f32; w * h];
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let dx = (at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)) - (at(x - 1, y - 1) + 2.0 * at(x - 1, y) + at(x - 1, y + 1));
            let dy = (at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)) - (at(x - 1, y - 1) + 2.0 * at(x, y - 1) + at(x + 1, y - 1));
            let i = y as usize * w + x as usize;
            gx[i] = dx;
            gy[i] = dy;
            mag[i] = dx.abs() + dy.abs();
        }
    }
    let m = |x: i64, y: i64| if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 { 0.0 } else { mag[y as usize * w + x as usize] };
    const TAN22: f32 = 0.414_213_57;
    const TAN67: f32 = 2.414_213_6;
    // 0 = not an edge, 1 = weak candidate, 2 = strong.
    let mut class = vec![0u8; w * h];
    let mut stack = Vec::new();
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let i = y as usize * w + x as usize;
            let v = mag[i];
            if v <= low {
                continue;
            }
            let (ax, ay) = (gx[i].abs(), gy[i].abs());
            let is_max = if ay < ax * TAN22 {
                v > m(x - 1, y) && v >= m(x + 1, y)
            } else if ay > ax * TAN67 {
                v > m(x, y - 1) && v >= m(x, y + 1)
            } else {
                let s = if (gx[i] < 0.0) != (gy[i] < 0.0) { -1 } else { 1 };
                v > m(x - s, y - 1) && v > m(x + s, y + 1)
            };
            if is_max {
                if v > high {
                    class[i] = 2;
                    stack.push(i);
                } else {
                    class[i] = 1;
                }
            }
        }
    }
    // Hysteresis: weak candidates 8-connected to a strong edge become edges.
    while let Some(i) = stack.pop() {
        let (x, y) = ((i % w) as i64, (i / w) as i64);
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if class[j] == 1 {
                    class[j] = 2;
                    stack.push(j);
                }
            }
        }
    }
    class.iter().map(|&c| if c == 2 { 255 } else { 0 }).collect()
}

/// `cv2.distanceTransform(img, DIST_L2, 5)`: chamfer distance to the nearest
/// zero pixel with OpenCV's 5x5 weights (1, 1.4, 2.1969).
pub fn distance_transform(img: &[u8], w: usize, h: usize) -> Vec<f32> {
    const A: f32 = 1.0;
    const B: f32 = 1.4;
    const C: f32 = 2.1969;
    let big = 1e20f32;
    let mut d: Vec<f32> = img.iter().map(|&v| if v == 0 { 0.0 } else { big }).collect();
    let fwd: [(i64, i64, f32); 8] = [(-1, 0, A), (-1, -1, B), (0, -1, A), (1, -1, B), (-1, -2, C), (1, -2, C), (-2, -1, C), (2, -1, C)];
    let get = |d: &Vec<f32>, x: i64, y: i64| if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 { big } else { d[y as usize * w + x as usize] };
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let i = y as usize * w + x as usize;
            let mut v = d[i];
            for &(dx, dy, c) in &fwd {
                v = v.min(get(&d, x + dx, y + dy) + c);
            }
            d[i] = v;
        }
    }
    for y in (0..h as i64).rev() {
        for x in (0..w as i64).rev() {
            let i = y as usize * w + x as usize;
            let mut v = d[i];
            for &(dx, dy, c) in &fwd {
                v = v.min(get(&d, x - dx, y - dy) + c);
            }
            d[i] = v;
        }
    }
    d
}

/// `cv2.blur(img, (3, 3))` (normalised box, BORDER_REFLECT_101) on floats.
pub fn box3(img: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0f32; w * h];
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let mut s = 0f32;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    s += img[border_index(y + dy, h, Border::Reflect101) * w + border_index(x + dx, w, Border::Reflect101)];
                }
            }
            out[y as usize * w + x as usize] = s / 9.0;
        }
    }
    out
}

/// `cv2.equalizeHist` on an 8-bit image.
pub fn equalize_hist(img: &[u8]) -> Vec<u8> {
    let mut hist = [0usize; 256];
    img.iter().for_each(|&v| hist[v as usize] += 1);
    let total = img.len();
    let Some(first) = hist.iter().position(|&c| c > 0) else { return img.to_vec() };
    if hist[first] == total {
        return vec![first as u8; total];
    }
    let scale = 255.0 / (total - hist[first]) as f32;
    let mut lut = [0u8; 256];
    let mut sum = 0usize;
    for i in first + 1..256 {
        sum += hist[i];
        lut[i] = (sum as f32 * scale).round().clamp(0.0, 255.0) as u8;
    }
    img.iter().map(|&v| lut[v as usize]).collect()
}

/// `cv2.filter2D(img, cv2.CV_8U, kernel3x3)`: correlation, saturating rounding.
pub fn filter3_u8(img: &[u8], w: usize, h: usize, k: &[f32; 9]) -> Vec<u8> {
    let mut out = vec![0u8; w * h];
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let mut s = 0f32;
            for dy in -1..=1i64 {
                for dx in -1..=1i64 {
                    let v = img[border_index(y + dy, h, Border::Reflect101) * w + border_index(x + dx, w, Border::Reflect101)];
                    s += k[((dy + 1) * 3 + dx + 1) as usize] * v as f32;
                }
            }
            out[y as usize * w + x as usize] = s.round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canny_finds_a_vertical_step() {
        let (w, h) = (12, 8);
        let img: Vec<u8> = (0..w * h).map(|i| if i % w < 6 { 0 } else { 200 }).collect();
        let e = canny(&img, w, h, 50.0, 150.0);
        for y in 0..h {
            let row: Vec<u8> = e[y * w..(y + 1) * w].to_vec();
            assert_eq!(row.iter().filter(|&&v| v == 255).count(), 1, "one edge pixel per row: {row:?}");
        }
        assert!(canny(&vec![7u8; w * h], w, h, 50.0, 150.0).iter().all(|&v| v == 0));
    }

    #[test]
    fn chamfer_distance_along_a_row() {
        let (w, h) = (6, 1);
        let img = [0u8, 255, 255, 255, 255, 255];
        let d = distance_transform(&img, w, h);
        assert_eq!(d, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let d2 = distance_transform(&[255u8, 255, 255, 255, 255, 255, 255, 255, 0], 3, 3);
        assert!((d2[0] - 2.8).abs() < 1e-5, "two diagonal steps: {}", d2[0]);
    }

    #[test]
    fn equalised_histogram_spans_the_range() {
        let img: Vec<u8> = (0..100).map(|i| 100 + (i % 10) as u8).collect();
        let e = equalize_hist(&img);
        assert_eq!(*e.iter().min().unwrap(), 0);
        assert_eq!(*e.iter().max().unwrap(), 255);
    }
}
