//! CTC greedy decoding of a text recogniser's output over the charset stored in the
//! model, and the text-recognition metrics against labels.
//!
//! PP-OCR recognisers keep their dictionary in the ONNX metadata entry `character`,
//! one symbol per line; the output classes are `blank`, those symbols, then a space
//! (PaddleOCR's `use_space_char`, which rapidocr always appends).

use crate::TaskError;

/// The output classes of a CTC recogniser: index 0 is the blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charset {
    symbols: Vec<String>,
}

impl Charset {
    /// From the model's `character` metadata: lines split as Python's
    /// `str.splitlines()` splits them, with the blank before and the space after.
    pub fn from_metadata(character: &str, use_space_char: bool) -> Result<Charset, TaskError> {
        let mut symbols = vec![String::new()];
        symbols.extend(split_lines(character));
        if symbols.len() == 1 {
            return Err(TaskError::Spec { reason: "the recogniser's `character` metadata is empty".into(), hint: "a PP-OCR rec model stores its dictionary in metadata_props `character`".into() });
        }
        if use_space_char {
            symbols.push(" ".into());
        }
        Ok(Charset { symbols })
    }

    /// Output classes, blank included.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.len() <= 1
    }

    /// Greedy CTC decoding of one `[T, classes]` score matrix: the best class per time
    /// step (first on ties), repeats merged, blanks dropped. The score is the mean of the
    /// kept steps' best scores (0 when nothing is kept).
    pub fn decode(&self, scores: &[f32], classes: usize) -> Result<(String, f64), TaskError> {
        if classes != self.symbols.len() {
            return Err(TaskError::Outputs {
                reason: format!("the recogniser has {classes} output classes but its charset gives {} (blank + symbols + space)", self.symbols.len()),
                hint: "the charset must come from the same rec model's `character` metadata".into(),
            });
        }
        let (mut text, mut probs, mut prev) = (String::new(), Vec::new(), None);
        for step in scores.chunks_exact(classes) {
            let (mut best, mut p) = (0, step[0]);
            for (i, &v) in step.iter().enumerate().skip(1) {
                if v > p {
                    (best, p) = (i, v);
                }
            }
            if best != 0 && prev != Some(best) {
                text.push_str(&self.symbols[best]);
                probs.push(p as f64);
            }
            prev = Some(best);
        }
        let score = if probs.is_empty() { 0.0 } else { probs.iter().sum::<f64>() / probs.len() as f64 };
        Ok((text, score))
    }
}

/// Python's `str.splitlines()` (without keeping the ends).
fn split_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(std::mem::take(&mut cur));
            }
            '\n' | '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Levenshtein distance between two strings, in Unicode scalar values.
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let next = (diag + usize::from(x != y)).min(row[j] + 1).min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Recognised text against labels, one pair per line (or crop).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TextAccuracy {
    pub lines: usize,
    /// Lines recognised exactly (PaddleOCR's `acc`).
    pub exact_lines: usize,
    /// `1 - character edits / label characters` over all lines (negative when the
    /// recogniser inserts more characters than the labels hold).
    pub char_accuracy: f64,
    /// `1 - word edits / label words`, words split on whitespace.
    pub word_accuracy: f64,
    /// `1 - mean NED`, NED = edits / max(len(prediction), len(label)) per line (0 for
    /// two empty strings): PaddleOCR's `norm_edit_dis`.
    pub one_minus_ned: f64,
}

/// The edits of one `(prediction, label)` pair, from which [`TextAccuracy`] sums.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LineEdits {
    pub exact: bool,
    pub char_edits: usize,
    pub label_chars: usize,
    pub word_edits: usize,
    pub label_words: usize,
    /// edits / max(len(prediction), len(label)), 0 for two empty strings.
    pub ned: f64,
}

impl LineEdits {
    pub fn of(pred: &str, label: &str) -> LineEdits {
        let (p, l): (Vec<char>, Vec<char>) = (pred.chars().collect(), label.chars().collect());
        let d = edit_distance(&p, &l);
        let longest = p.len().max(l.len());
        let (pw, lw): (Vec<&str>, Vec<&str>) = (pred.split_whitespace().collect(), label.split_whitespace().collect());
        LineEdits {
            exact: pred == label,
            char_edits: d,
            label_chars: l.len(),
            word_edits: edit_distance(&pw, &lw),
            label_words: lw.len(),
            ned: if longest == 0 { 0.0 } else { d as f64 / longest as f64 },
        }
    }
}

impl TextAccuracy {
    /// Sums over lines; `None` without lines.
    pub fn from_edits<'a>(lines: impl IntoIterator<Item = &'a LineEdits>) -> Option<TextAccuracy> {
        let (mut n, mut exact, mut char_edits, mut chars, mut word_edits, mut words, mut ned) = (0usize, 0usize, 0usize, 0usize, 0usize, 0usize, 0f64);
        for e in lines {
            n += 1;
            exact += usize::from(e.exact);
            char_edits += e.char_edits;
            chars += e.label_chars;
            word_edits += e.word_edits;
            words += e.label_words;
            ned += e.ned;
        }
        let ratio = |edits: usize, n: usize| if n == 0 { if edits == 0 { 1.0 } else { 0.0 } } else { 1.0 - edits as f64 / n as f64 };
        (n > 0).then(|| TextAccuracy { lines: n, exact_lines: exact, char_accuracy: ratio(char_edits, chars), word_accuracy: ratio(word_edits, words), one_minus_ned: 1.0 - ned / n as f64 })
    }
}

/// Character, word and line accuracy and 1 - NED of `(prediction, label)` pairs;
/// `None` without pairs.
pub fn text_accuracy<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<TextAccuracy> {
    let edits: Vec<LineEdits> = pairs.into_iter().map(|(p, l)| LineEdits::of(p, l)).collect();
    TextAccuracy::from_edits(&edits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_decoding_merges_repeats_and_drops_blanks() {
        let cs = Charset::from_metadata("a\nb\r\nc", true).unwrap();
        assert_eq!(cs.len(), 5); // blank a b c space
        // Steps: a a blank a b b space c -> "aab c"; scores of the kept steps 0.9 0.8 0.7 0.6 0.5.
        let one_hot = |i: usize, p: f32| {
            let mut v = vec![0.0; 5];
            v[i] = p;
            v
        };
        let steps: Vec<f32> = [(1, 0.9), (1, 0.95), (0, 0.99), (1, 0.8), (2, 0.7), (2, 0.3), (4, 0.6), (3, 0.5)].iter().flat_map(|&(i, p)| one_hot(i, p)).collect();
        let (text, score) = cs.decode(&steps, 5).unwrap();
        assert_eq!(text, "aab c");
        assert!((score - (0.9 + 0.8 + 0.7 + 0.6 + 0.5) / 5.0).abs() < 1e-6, "{score}");
        // All blank: empty text, score 0.
        assert_eq!(cs.decode(&one_hot(0, 1.0), 5).unwrap(), (String::new(), 0.0));
        // A class count that is not the charset's is an error naming both.
        let err = cs.decode(&[0.0; 6], 6).unwrap_err().to_string();
        assert!(err.contains("6 output classes") && err.contains("5"), "{err}");
        assert!(Charset::from_metadata("", true).is_err());
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(split_lines("a\nb\r\nc\rd\u{2028}e\n"), vec!["a", "b", "c", "d", "e"]);
        assert_eq!(split_lines("x\n\ny"), vec!["x", "", "y"]);
    }

    #[test]
    fn text_metrics_by_hand() {
        assert_eq!(edit_distance(&['k', 'i', 't', 't', 'e', 'n'], &['s', 'i', 't', 't', 'i', 'n', 'g']), 3);
        // "kitten" vs "sitting": 3 edits, 7 label chars; NED 3/7. "NET WT" vs "NETWT": 1 edit,
        // 6 label chars, NED 1/6; words: ["NETWT"] vs ["NET","WT"]: 2 edits of 2 words.
        // "210" exact.
        let m = text_accuracy([("kitten", "sitting"), ("NETWT", "NET WT"), ("210", "210")]).unwrap();
        assert_eq!((m.lines, m.exact_lines), (3, 1));
        assert!((m.char_accuracy - (1.0 - 4.0 / 16.0)).abs() < 1e-12, "{m:?}");
        // words: kitten/sitting 1 edit of 1, NETWT 2 of 2, 210 0 of 1 -> 1 - 3/4.
        assert!((m.word_accuracy - 0.25).abs() < 1e-12, "{m:?}");
        assert!((m.one_minus_ned - (1.0 - (3.0 / 7.0 + 1.0 / 6.0) / 3.0)).abs() < 1e-12, "{m:?}");
        assert!(text_accuracy(std::iter::empty()).is_none());
        let empty = text_accuracy([("", "")]).unwrap();
        assert_eq!((empty.char_accuracy, empty.one_minus_ned), (1.0, 1.0));
    }
}
