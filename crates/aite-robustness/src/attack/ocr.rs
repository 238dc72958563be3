//! A score-based black-box attack on OCR: change the string the reader returns for one
//! line of a frame, within an L-inf ball, with the Square attack's L-inf random search
//! ([`super::square`]: vertical-stripe start, AutoAttack's square-size schedule
//! [`p_selection`], a hard per-line query budget) and a noise baseline under the same
//! budget.
//!
//! The loss is the recogniser's score of the attacked line while it still reads the
//! clean string (the line found again at polygon IoU >= 0.5 with its clean box); the
//! attack succeeds when that line reads differently or is no longer read on a **final
//! verification query** of the search's best frame (the last query of the budget; the
//! search gets the others), as the detector attack decides. Frames reach the reader as 8-bit pixels (the uint8 channel: every
//! candidate is rounded to whole grey levels). A frame with no clean line is not
//! applicable (counted, never a success).

use super::square::p_selection;
use crate::RobustnessError;
use aite_accuracy::{wilson, Proportion};
use aite_target::Cancel;
use aite_task::{polygon_iou, quad_polygon, Frame, Quad, TextLine, TextReader};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The attack's threat model and budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrAttackSettings {
    /// L-inf radius in 0..=1 pixel units (AutoAttack: 4/255 above 64 px).
    pub epsilon: f32,
    /// Hard per-line query budget, the verification query included (>= 2; the clean read is
    /// one more query, counted separately).
    pub budget: usize,
    /// Square attack's initial fraction of changed pixels (AutoAttack: 0.8).
    pub p_init: f64,
    pub seed: u64,
    /// Lines attacked per frame (in reading order).
    pub lines_per_frame: usize,
}

/// How one attack (or the noise baseline) on a line ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum LineAttackOutcome {
    /// The verification query reads `text` ("" when the line is no longer read).
    Changed { queries: usize, text: String },
    /// The budget ran out and the verification query reads the clean string; `best_score`
    /// is the lowest score of the clean string reached.
    Unchanged { queries: usize, best_score: f64 },
    /// The search saw `searched`, but the verification query of that frame reads the clean
    /// string again (score `verified_score`): not a success.
    Unconfirmed { queries: usize, searched: String, verified_score: f64 },
}

impl LineAttackOutcome {
    pub fn changed(&self) -> bool {
        matches!(self, LineAttackOutcome::Changed { .. })
    }
}

/// One attacked line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrLineAttack {
    pub image: String,
    pub text: String,
    pub quad: Quad,
    pub clean_score: f64,
    pub square: LineAttackOutcome,
    pub noise: LineAttackOutcome,
}

/// The attack over frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrAttackReport {
    pub settings: OcrAttackSettings,
    pub frames: usize,
    /// Frames on which nothing is read clean: not applicable.
    pub frames_without_text: Vec<String>,
    pub lines: Vec<OcrLineAttack>,
    /// Lines whose string the attack changed, of the lines attacked (Wilson); `None` (no
    /// rate, not 0 %) when no line was attacked.
    pub success: Option<Proportion>,
    /// The same for uniform ±epsilon noise under the same budget.
    pub noise_success: Option<Proportion>,
    /// Median queries of the successful attacks.
    pub median_queries: Option<f64>,
    pub interrupted: bool,
}

/// Counts queries against the budget and reads the attacked line.
struct LineOracle<'a> {
    reader: &'a mut dyn TextReader,
    width: usize,
    height: usize,
    target: &'a TextLine,
    budget: usize,
    used: usize,
    cancel: &'a Cancel,
}

/// The attacked line's read: `Err(text)` when it changed ("" when gone), `Ok(score)` while it reads the clean string.
type Read = Result<f64, String>;

impl LineOracle<'_> {
    fn probe(&mut self, x: &[f32]) -> Result<Read, RobustnessError> {
        if self.cancel.is_cancelled() {
            return Err(RobustnessError::Interrupted);
        }
        debug_assert!(self.used < self.budget);
        self.used += 1;
        let data = x.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
        let frame = Frame { width: self.width, height: self.height, data };
        let lines = self.reader.read_text(&frame).map_err(|e| RobustnessError::Unsupported { check: "OCR attack", reason: e.to_string(), hint: "check the OCR models".into() })?;
        Ok(find(&lines, self.target))
    }
    fn remaining(&self) -> usize {
        self.budget - self.used
    }
}

/// The line at IoU >= 0.5 with `target`'s box (the best one): its score if it reads the same.
fn find(lines: &[TextLine], target: &TextLine) -> Read {
    let poly = quad_polygon(target);
    let best = lines.iter().map(|l| (polygon_iou(&quad_polygon(l), &poly), l)).filter(|(v, _)| *v >= 0.5).max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, l)) if l.text == target.text => Ok(l.score),
        Some((_, l)) => Err(l.text.clone()),
        None => Err(String::new()),
    }
}

fn sign(rng: &mut StdRng) -> f32 {
    if rng.gen::<bool>() {
        1.0
    } else {
        -1.0
    }
}

/// Where a search stopped: the frame it saw change the line, or its best frame (lowest
/// score of the clean string) when the budget ran out.
enum Searched {
    Changed { image: Vec<f32>, text: String },
    Best { image: Vec<f32>, score: f64 },
}

/// Square L-inf random search on `x` (HWC, 0..=1), as [`super::square::square_linf`] runs it.
fn square(x: &[f32], w: usize, h: usize, eps: f32, p_init: f64, oracle: &mut LineOracle<'_>, rng: &mut StdRng) -> Result<Searched, RobustnessError> {
    const C: usize = 3;
    let stripes: Vec<f32> = (0..w * C).map(|_| sign(rng) * eps).collect();
    let mut best: Vec<f32> = x.iter().enumerate().map(|(i, &v)| (v + stripes[(i / C % w) * C + i % C]).clamp(0.0, 1.0)).collect();
    let mut best_score = match oracle.probe(&best)? {
        Err(text) => return Ok(Searched::Changed { image: best, text }),
        Ok(s) => s,
    };
    let mut it = 0;
    while oracle.remaining() > 0 {
        let p = p_selection(p_init, it, oracle.budget);
        let s = ((p * (w * h) as f64).sqrt().round() as usize).max(1).min(h.min(w).saturating_sub(1).max(1));
        let mut candidate = best.clone();
        let (vh, vw) = (rng.gen_range(0..=h - s), rng.gen_range(0..=w - s));
        let signs: Vec<f32> = (0..C).map(|_| sign(rng) * 2.0 * eps).collect();
        for yy in vh..vh + s {
            for xx in vw..vw + s {
                for ch in 0..C {
                    let i = (yy * w + xx) * C + ch;
                    candidate[i] = (best[i] + signs[ch]).clamp(x[i] - eps, x[i] + eps).clamp(0.0, 1.0);
                }
            }
        }
        match oracle.probe(&candidate)? {
            Err(text) => return Ok(Searched::Changed { image: candidate, text }),
            Ok(score) if score < best_score => (best, best_score) = (candidate, score),
            Ok(_) => {}
        }
        it += 1;
    }
    Ok(Searched::Best { image: best, score: best_score })
}

/// Uniform ±eps noise, a fresh draw per query.
fn noise(x: &[f32], eps: f32, oracle: &mut LineOracle<'_>, rng: &mut StdRng) -> Result<Searched, RobustnessError> {
    let (mut best, mut best_score) = (x.to_vec(), f64::INFINITY);
    while oracle.remaining() > 0 {
        let candidate: Vec<f32> = x.iter().map(|&v| (v + sign(rng) * eps).clamp(0.0, 1.0)).collect();
        match oracle.probe(&candidate)? {
            Err(text) => return Ok(Searched::Changed { image: candidate, text }),
            Ok(score) if score < best_score => (best, best_score) = (candidate, score),
            Ok(_) => {}
        }
    }
    Ok(Searched::Best { image: best, score: best_score })
}

/// The search on `budget - 1` queries, then the verification query of its frame, which decides.
fn verified(oracle: &mut LineOracle<'_>, search: impl FnOnce(&mut LineOracle<'_>) -> Result<Searched, RobustnessError>) -> Result<LineAttackOutcome, RobustnessError> {
    oracle.budget -= 1;
    let searched = search(oracle)?;
    oracle.budget += 1;
    let image = match &searched {
        Searched::Changed { image, .. } | Searched::Best { image, .. } => image,
    };
    let queries = oracle.used + 1;
    Ok(match (oracle.probe(image)?, searched) {
        (Err(text), _) => LineAttackOutcome::Changed { queries, text },
        (Ok(score), Searched::Changed { text, .. }) => LineAttackOutcome::Unconfirmed { queries, searched: text, verified_score: score },
        (Ok(score), Searched::Best { score: best, .. }) => LineAttackOutcome::Unchanged { queries, best_score: best.min(score) },
    })
}

/// Attack up to `lines_per_frame` lines of every frame.
pub fn ocr_attack(reader: &mut dyn TextReader, frames: &[(String, Frame)], settings: &OcrAttackSettings, cancel: &Cancel) -> Result<OcrAttackReport, RobustnessError> {
    if !(settings.epsilon > 0.0 && settings.epsilon <= 1.0) || settings.budget < 2 || !(settings.p_init > 0.0 && settings.p_init <= 1.0) {
        return Err(RobustnessError::Unsupported { check: "OCR attack", reason: format!("epsilon {} (0 < eps <= 1), budget {} (>= 2: the search and the verification query), p_init {} (0 < p <= 1)", settings.epsilon, settings.budget, settings.p_init), hint: "AutoAttack uses eps 4/255, 5000 queries, p_init 0.8".into() });
    }
    let (mut lines, mut without, mut interrupted) = (vec![], vec![], false);
    'frames: for (k, (id, f)) in frames.iter().enumerate() {
        let clean = reader.read_text(f).map_err(|e| RobustnessError::Unsupported { check: "OCR attack", reason: e.to_string(), hint: "check the OCR models".into() })?;
        if clean.is_empty() {
            without.push(id.clone());
            continue;
        }
        let x: Vec<f32> = f.data.iter().map(|&v| v as f32 / 255.0).collect();
        for (j, target) in clean.iter().take(settings.lines_per_frame.max(1)).enumerate() {
            let mut rng = StdRng::seed_from_u64(settings.seed ^ ((k as u64) << 32) ^ j as u64);
            let mut run = |attack: bool, rng: &mut StdRng| -> Result<LineAttackOutcome, RobustnessError> {
                let mut oracle = LineOracle { reader: &mut *reader, width: f.width, height: f.height, target, budget: settings.budget, used: 0, cancel };
                if attack {
                    verified(&mut oracle, |o| square(&x, f.width, f.height, settings.epsilon, settings.p_init, o, rng))
                } else {
                    verified(&mut oracle, |o| noise(&x, settings.epsilon, o, rng))
                }
            };
            let (sq, nz) = match (run(true, &mut rng), run(false, &mut rng)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(RobustnessError::Interrupted), _) | (_, Err(RobustnessError::Interrupted)) => {
                    interrupted = true;
                    break 'frames;
                }
                (Err(e), _) | (_, Err(e)) => return Err(e),
            };
            lines.push(OcrLineAttack { image: id.clone(), text: target.text.clone(), quad: target.quad, clean_score: target.score, square: sq, noise: nz });
        }
    }
    let n = lines.len();
    let mut q: Vec<f64> = lines.iter().filter_map(|l| match l.square {
        LineAttackOutcome::Changed { queries, .. } => Some(queries as f64),
        _ => None,
    }).collect();
    Ok(OcrAttackReport {
        settings: settings.clone(),
        frames: frames.len(),
        frames_without_text: without,
        success: (n > 0).then(|| wilson(lines.iter().filter(|l| l.square.changed()).count(), n)),
        noise_success: (n > 0).then(|| wilson(lines.iter().filter(|l| l.noise.changed()).count(), n)),
        median_queries: super::median(&mut q),
        lines,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aite_task::TaskError;

    /// Reads "7" while the mean red level of the frame stays above 100.2, with a score that
    /// falls as that mean falls: only a search that keeps its darkened squares (no single
    /// square covers the frame) changes the string. Nothing is read on a black frame.
    struct Corner;

    impl TextReader for Corner {
        fn read_text(&mut self, f: &Frame) -> Result<Vec<TextLine>, TaskError> {
            if f.data.iter().all(|&v| v == 0) {
                return Ok(vec![]);
            }
            let mut sum = 0.0;
            for px in f.data.chunks_exact(3) {
                sum += px[0] as f64;
            }
            let mean = sum / (f.width * f.height) as f64;
            let quad = [[0.0, 0.0], [8.0, 0.0], [8.0, 8.0], [0.0, 8.0]];
            Ok(vec![TextLine { quad, text: if mean > 100.2 { "7".into() } else { "1".into() }, score: mean / 255.0, rotated: false }])
        }
    }

    #[test]
    fn square_search_changes_the_string_and_noise_does_not() {
        // Frames of grey 102: eps 2/255 lets the frame's mean reach 100.2 (changed) only when
        // about 230 of its 256 red values went down; the noise baseline's independent signs
        // never do that (probability below 1e-30 per query).
        let frames = vec![("grey".to_string(), Frame::new(16, 16, vec![102; 16 * 16 * 3]).unwrap()), ("black".to_string(), Frame::new(16, 16, vec![0; 16 * 16 * 3]).unwrap())];
        let settings = OcrAttackSettings { epsilon: 2.0 / 255.0, budget: 1000, p_init: 0.8, seed: 1, lines_per_frame: 1 };
        let r = ocr_attack(&mut Corner, &frames, &settings, &Cancel::new()).unwrap();
        assert_eq!(r.frames_without_text, vec!["black"]);
        assert_eq!(r.lines.len(), 1);
        assert!(matches!(&r.lines[0].square, LineAttackOutcome::Changed { text, queries } if text == "1" && *queries <= 1000), "{:?}", r.lines[0].square);
        assert!(matches!(r.lines[0].noise, LineAttackOutcome::Unchanged { queries: 1000, .. }), "{:?}", r.lines[0].noise);
        let (sq, nz) = (r.success.unwrap(), r.noise_success.unwrap());
        assert_eq!((sq.successes, sq.trials, nz.successes), (1, 1, 0));
        for budget in [0, 1] {
            assert!(ocr_attack(&mut Corner, &frames, &OcrAttackSettings { budget, ..settings.clone() }, &Cancel::new()).is_err());
        }
    }

    #[test]
    fn no_line_attacked_gives_no_rate() {
        let frames = vec![("black".to_string(), Frame::new(16, 16, vec![0; 16 * 16 * 3]).unwrap())];
        let settings = OcrAttackSettings { epsilon: 2.0 / 255.0, budget: 10, p_init: 0.8, seed: 1, lines_per_frame: 1 };
        let r = ocr_attack(&mut Corner, &frames, &settings, &Cancel::new()).unwrap();
        assert!(r.lines.is_empty() && r.success.is_none() && r.noise_success.is_none(), "{r:?}");
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["success"].is_null() && json["noise_success"].is_null(), "{json}");
    }

    /// Reads "7" except on its `flip`-th call, which reads "1": a change the search sees
    /// once and a second read of the same frame does not confirm.
    struct Flaky {
        calls: usize,
        flip: usize,
    }

    impl TextReader for Flaky {
        fn read_text(&mut self, _: &Frame) -> Result<Vec<TextLine>, TaskError> {
            self.calls += 1;
            let quad = [[0.0, 0.0], [8.0, 0.0], [8.0, 8.0], [0.0, 8.0]];
            Ok(vec![TextLine { quad, text: if self.calls == self.flip { "1".into() } else { "7".into() }, score: 0.9, rotated: false }])
        }
    }

    #[test]
    fn the_verification_query_decides_and_counts_in_the_budget() {
        let frames = vec![("grey".to_string(), Frame::new(16, 16, vec![102; 16 * 16 * 3]).unwrap())];
        let settings = OcrAttackSettings { epsilon: 2.0 / 255.0, budget: 50, p_init: 0.8, seed: 1, lines_per_frame: 1 };
        // Call 1 is the clean read, 2.. the Square search: its 5th query sees "1" once.
        let r = ocr_attack(&mut Flaky { calls: 0, flip: 6 }, &frames, &settings, &Cancel::new()).unwrap();
        assert!(matches!(&r.lines[0].square, LineAttackOutcome::Unconfirmed { queries: 6, searched, .. } if searched == "1"), "{:?}", r.lines[0].square);
        assert!(matches!(r.lines[0].noise, LineAttackOutcome::Unchanged { queries: 50, .. }), "{:?}", r.lines[0].noise);
        assert_eq!(r.success.unwrap().successes, 0);
        // The search never sees the change; the verification query (the 50th) does, and it counts.
        let r = ocr_attack(&mut Flaky { calls: 0, flip: 51 }, &frames, &settings, &Cancel::new()).unwrap();
        assert!(matches!(&r.lines[0].square, LineAttackOutcome::Changed { queries: 50, text } if text == "1"), "{:?}", r.lines[0].square);
    }
}
