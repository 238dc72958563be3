//! Detection labels: one reader per format, both giving [`DetectionLabels`] (boxes in pixels of
//! each image, COCO `[x, y, w, h]`), which [`DetectionLabels::coco_json`] turns into the COCO
//! instances ground truth the evaluation reads.
//!
//! - COCO instances JSON ([`read_coco_labels`]): `images` (`id`, `file_name`, `width`, `height`),
//!   `annotations` (`id`, `image_id`, `category_id`, `bbox`, optional `area` and `iscrowd`),
//!   `categories` (`id`, `name`). Category ids are the detector's class indices.
//! - YOLO txt ([`read_yolo_labels`]): one `<image stem>.txt` per image, one `class cx cy w h`
//!   line per box, normalised to the image; an optional `classes.txt` names the classes. YOLO
//!   class `k` is detector class `k + class_offset` (1 for a detector with a background class).

use crate::TaskError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which reader produced the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelFormat {
    CocoJson,
    YoloTxt,
}

/// One labelled box, in pixels of its image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelBox {
    pub category_id: u64,
    pub bbox: [f64; 4],
    /// The area COCO's size ranges read: the file's `area` when given, else `w * h`.
    pub area: f64,
    /// A crowd region: detections inside it are ignored, never false positives.
    pub iscrowd: bool,
}

/// One labelled image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledImage {
    pub id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
    pub boxes: Vec<LabelBox>,
}

/// Ground-truth boxes of a set of images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionLabels {
    pub source: PathBuf,
    pub format: LabelFormat,
    pub images: Vec<LabeledImage>,
    /// `(id, name)` of every category.
    pub categories: Vec<(u64, String)>,
}

fn bad(path: &Path, reason: String) -> TaskError {
    TaskError::DetectionLabels { path: path.to_path_buf(), reason }
}

#[derive(Deserialize)]
struct CocoFile {
    images: Vec<CocoImage>,
    #[serde(default)]
    annotations: Vec<serde_json::Value>,
    categories: Vec<CocoCategory>,
}

#[derive(Deserialize)]
struct CocoImage {
    id: u64,
    file_name: String,
    width: u32,
    height: u32,
}

#[derive(Deserialize)]
struct CocoCategory {
    id: u64,
    name: String,
}

#[derive(Deserialize)]
struct CocoAnnotation {
    image_id: u64,
    category_id: u64,
    bbox: Vec<f64>,
    area: Option<f64>,
    #[serde(default)]
    iscrowd: serde_json::Value,
}

/// Read a COCO instances JSON; errors name the file and the offending annotation.
pub fn read_coco_labels(path: &Path) -> Result<DetectionLabels, TaskError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, format!("cannot read it: {e}")))?;
    let file: CocoFile = serde_json::from_str(&text).map_err(|e| bad(path, format!("not COCO instances JSON (images with id, file_name, width, height; categories with id, name): {e}")))?;
    let mut images: Vec<LabeledImage> = file.images.into_iter().map(|i| LabeledImage { id: i.id, file_name: i.file_name, width: i.width, height: i.height, boxes: vec![] }).collect();
    let mut index = std::collections::HashMap::new();
    for (k, i) in images.iter().enumerate() {
        if index.insert(i.id, k).is_some() {
            return Err(bad(path, format!("image id {} appears twice", i.id)));
        }
    }
    let categories: Vec<(u64, String)> = file.categories.into_iter().map(|c| (c.id, c.name)).collect();
    for (n, value) in file.annotations.into_iter().enumerate() {
        let what = match value.get("id") {
            Some(id) => format!("annotation {n} (id {id})"),
            None => format!("annotation {n}"),
        };
        let a: CocoAnnotation = serde_json::from_value(value).map_err(|e| bad(path, format!("{what}: {e}")))?;
        let &k = index.get(&a.image_id).ok_or_else(|| bad(path, format!("{what}: image_id {} is not in `images`", a.image_id)))?;
        if !categories.iter().any(|c| c.0 == a.category_id) {
            return Err(bad(path, format!("{what}: category_id {} is not in `categories`", a.category_id)));
        }
        let [x, y, w, h] = a.bbox[..] else {
            return Err(bad(path, format!("{what}: bbox has {} numbers, COCO's is [x, y, width, height]", a.bbox.len())));
        };
        if !(x.is_finite() && y.is_finite() && w.is_finite() && h.is_finite()) || w < 0.0 || h < 0.0 {
            return Err(bad(path, format!("{what}: bbox {:?} is not [x, y, width, height] with width, height >= 0", a.bbox)));
        }
        let iscrowd = match &a.iscrowd {
            serde_json::Value::Null => false,
            serde_json::Value::Bool(b) => *b,
            v => match v.as_u64() {
                Some(0) => false,
                Some(1) => true,
                _ => return Err(bad(path, format!("{what}: iscrowd {v} is not 0 or 1"))),
            },
        };
        images[k].boxes.push(LabelBox { category_id: a.category_id, bbox: [x, y, w, h], area: a.area.unwrap_or(w * h), iscrowd });
    }
    Ok(DetectionLabels { source: path.to_path_buf(), format: LabelFormat::CocoJson, images, categories })
}

/// Read YOLO txt labels in `dir` for the images `frames` (`(file name, width, height)`), in
/// that order; a frame without its `<stem>.txt` is an error (write an empty file for a frame
/// with no object), so no frame is scored as empty by accident.
pub fn read_yolo_labels(dir: &Path, frames: &[(String, u32, u32)], class_offset: u64) -> Result<DetectionLabels, TaskError> {
    let names_path = dir.join("classes.txt");
    let names: Vec<String> = match std::fs::read_to_string(&names_path) {
        Ok(t) => t.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect(),
        Err(_) => vec![],
    };
    let mut images = vec![];
    let mut seen = std::collections::BTreeSet::new();
    for (k, (name, width, height)) in frames.iter().enumerate() {
        let stem = Path::new(name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| name.clone());
        let path = dir.join(format!("{stem}.txt"));
        let text = std::fs::read_to_string(&path).map_err(|e| bad(&path, format!("no labels for frame {name} ({e})\n  hint: YOLO labels are one <stem>.txt per frame; write an empty one for a frame with no object")))?;
        let mut boxes = vec![];
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let at = |reason: String| bad(&path, format!("line {}: {reason}", n + 1));
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() != 5 {
                return Err(at(format!("{} fields, a YOLO box is `class cx cy w h` (5; segments and confidences are not labels)", fields.len())));
            }
            let class: u64 = fields[0].parse().map_err(|_| at(format!("class `{}` is not a whole number", fields[0])))?;
            if !names.is_empty() && class as usize >= names.len() {
                return Err(at(format!("class {class} is beyond the {} names of {}", names.len(), names_path.display())));
            }
            let mut v = [0f64; 4];
            for (i, f) in fields[1..].iter().enumerate() {
                v[i] = f.parse().ok().filter(|x: &f64| x.is_finite()).ok_or_else(|| at(format!("`{f}` is not a number")))?;
            }
            let [cx, cy, w, h] = v;
            if !(0.0..=1.0).contains(&cx) || !(0.0..=1.0).contains(&cy) || !(0.0..=1.0).contains(&w) || !(0.0..=1.0).contains(&h) {
                return Err(at(format!("`{line}` is not normalised to 0..1 (YOLO boxes are fractions of the image)")));
            }
            let (fw, fh) = (*width as f64, *height as f64);
            let bbox = [(cx - w / 2.0) * fw, (cy - h / 2.0) * fh, w * fw, h * fh];
            seen.insert(class);
            boxes.push(LabelBox { category_id: class + class_offset, bbox, area: bbox[2] * bbox[3], iscrowd: false });
        }
        images.push(LabeledImage { id: k as u64 + 1, file_name: name.clone(), width: *width, height: *height, boxes });
    }
    let count = (names.len() as u64).max(seen.iter().next_back().map_or(0, |c| c + 1));
    let categories = (0..count).map(|c| (c + class_offset, names.get(c as usize).cloned().unwrap_or_else(|| unnamed(c)))).collect();
    Ok(DetectionLabels { source: dir.to_path_buf(), format: LabelFormat::YoloTxt, images, categories })
}

/// The name of YOLO class `c` when no `classes.txt` names it.
fn unnamed(c: u64) -> String {
    format!("class {c}")
}

impl DetectionLabels {
    /// The labelled image for a dataset sample id: by `file_name`, else by its last path component.
    pub fn image_for(&self, sample: &str) -> Option<&LabeledImage> {
        let base = |s: &str| Path::new(s).file_name().map(|f| f.to_string_lossy().into_owned());
        self.images.iter().find(|i| i.file_name == sample).or_else(|| self.images.iter().find(|i| base(&i.file_name) == base(sample)))
    }

    /// These labels with the categories they leave unnamed (YOLO txt without `classes.txt`) named
    /// by a task's `class_names` (indexed by class id, background included); a label file's own
    /// names win, and a named category the detector lacks is kept (its AP is 0, or not measurable
    /// without ground truth, as pycocotools reports it). An unnamed category beyond the task's
    /// classes (background excluded) is an error naming both sources.
    pub fn named_by(&self, class_names: &[String], background_class: bool) -> Result<DetectionLabels, TaskError> {
        let named = usize::from(background_class).min(class_names.len());
        let task = format!("the task's class_names ({} classes{})", class_names.len() - named, if background_class { " besides the background" } else { "" });
        let mut out = self.clone();
        for (i, (id, name)) in out.categories.iter_mut().enumerate() {
            if self.format != LabelFormat::YoloTxt || *name != unnamed(i as u64) {
                continue;
            }
            let task_name = usize::try_from(*id).ok().filter(|&k| k >= named).and_then(|k| class_names.get(k));
            let Some(task_name) = task_name else {
                let count = self.categories.len();
                return Err(bad(&self.source, format!("{count} categories without names (no classes.txt) but {task}: category id {id} ({name}) is none of them")));
            };
            *name = task_name.clone();
        }
        Ok(out)
    }

    /// COCO instances JSON of `images` (annotation ids numbered from 1), for the evaluation.
    pub fn coco_json(&self, images: &[&LabeledImage]) -> serde_json::Value {
        let mut annotations = vec![];
        for i in images {
            for b in &i.boxes {
                annotations.push(serde_json::json!({"id": annotations.len() + 1, "image_id": i.id, "category_id": b.category_id, "bbox": b.bbox, "area": b.area, "iscrowd": b.iscrowd as u8}));
            }
        }
        let images: Vec<_> = images.iter().map(|i| serde_json::json!({"id": i.id, "file_name": i.file_name, "width": i.width, "height": i.height})).collect();
        let categories: Vec<_> = self.categories.iter().map(|(id, name)| serde_json::json!({"id": id, "name": name})).collect();
        serde_json::json!({"images": images, "annotations": annotations, "categories": categories})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn coco_reader_keeps_area_and_crowd_and_names_bad_annotations() {
        let dir = tempfile::tempdir().unwrap();
        let good = r#"{"images": [{"id": 7, "file_name": "a/1.jpg", "width": 640, "height": 480}], "categories": [{"id": 1, "name": "face"}],
          "annotations": [{"id": 3, "image_id": 7, "category_id": 1, "bbox": [1, 2, 10, 20], "area": 150, "iscrowd": 1}, {"id": 4, "image_id": 7, "category_id": 1, "bbox": [0, 0, 4, 5]}]}"#;
        let l = read_coco_labels(&write(dir.path(), "gt.json", good)).unwrap();
        assert_eq!(l.images[0].boxes, vec![LabelBox { category_id: 1, bbox: [1.0, 2.0, 10.0, 20.0], area: 150.0, iscrowd: true }, LabelBox { category_id: 1, bbox: [0.0, 0.0, 4.0, 5.0], area: 20.0, iscrowd: false }]);
        assert_eq!(l.image_for("1.jpg").map(|i| i.id), Some(7));
        for (text, needle) in [
            (good.replace("\"image_id\": 7, \"category_id\": 1, \"bbox\": [0, 0, 4, 5]", "\"image_id\": 8, \"category_id\": 1, \"bbox\": [0, 0, 4, 5]"), "annotation 1 (id 4): image_id 8 is not in `images`"),
            (good.replace("[0, 0, 4, 5]", "[0, 0, 4]"), "annotation 1 (id 4): bbox has 3 numbers"),
            (good.replace("[0, 0, 4, 5]", "[0, 0, -4, 5]"), "annotation 1 (id 4): bbox"),
            (good.replace("\"category_id\": 1, \"bbox\": [0", "\"category_id\": 2, \"bbox\": [0"), "category_id 2 is not in `categories`"),
            (good.replace("\"iscrowd\": 1", "\"iscrowd\": 2"), "annotation 0 (id 3): iscrowd 2"),
            ("{\"images\": [".into(), "not COCO instances JSON"),
        ] {
            let p = write(dir.path(), "bad.json", &text);
            let e = read_coco_labels(&p).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains("bad.json"), "{e}");
        }
    }

    #[test]
    fn yolo_reader_scales_to_pixels_offsets_classes_and_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "classes.txt", "face\nplate\n");
        write(dir.path(), "f1.txt", "0 0.5 0.5 0.25 0.5\n\n1 0.1 0.2 0.2 0.2\n");
        write(dir.path(), "f2.txt", "");
        let frames = vec![("f1.jpg".to_string(), 400, 200), ("sub/f2.png".to_string(), 100, 100)];
        let l = read_yolo_labels(dir.path(), &frames, 1).unwrap();
        // Hand-computed: centre (200, 100), size 100 x 100 -> [150, 50, 100, 100]; class 0 -> 1.
        assert_eq!(l.images[0].boxes[0], LabelBox { category_id: 1, bbox: [150.0, 50.0, 100.0, 100.0], area: 10000.0, iscrowd: false });
        assert_eq!(l.images[0].boxes[1].category_id, 2);
        assert!((l.images[0].boxes[1].bbox[0] - 0.0).abs() < 1e-9 && (l.images[0].boxes[1].bbox[1] - 20.0).abs() < 1e-9);
        assert!(l.images[1].boxes.is_empty());
        assert_eq!(l.categories, vec![(1, "face".into()), (2, "plate".into())]);
        for (text, needle) in [("0 0.5 0.5 0.2\n", "f1.txt: line 1: 4 fields"), ("0 0.5 0.5 0.2 0.2\nx 0.5 0.5 0.2 0.2\n", "line 2: class `x`"), ("0 0.5 0.5 1.2 0.2\n", "not normalised"), ("5 0.5 0.5 0.2 0.2\n", "class 5 is beyond the 2 names")] {
            write(dir.path(), "f1.txt", text);
            let e = read_yolo_labels(dir.path(), &frames, 1).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        // The task's class_names name what classes.txt does not; the file's own names win.
        let names: Vec<String> = ["background", "face", "plate"].map(String::from).to_vec();
        write(dir.path(), "f1.txt", "0 0.5 0.5 0.2 0.2\n");
        assert_eq!(l.named_by(&names, true).unwrap().categories, vec![(1, "face".into()), (2, "plate".into())]);
        let renamed: Vec<String> = ["bg", "visage", "plaque"].map(String::from).to_vec();
        assert_eq!(l.named_by(&renamed, true).unwrap().categories, vec![(1, "face".into()), (2, "plate".into())]);
        std::fs::remove_file(dir.path().join("classes.txt")).unwrap();
        let unnamed = read_yolo_labels(dir.path(), &frames, 1).unwrap();
        assert_eq!(unnamed.categories, vec![(1, "class 0".into())]);
        assert_eq!(unnamed.named_by(&renamed, true).unwrap().categories, vec![(1, "visage".into())]);
        // Named label categories the task lacks are kept (their AP reads 0 or not measurable).
        assert_eq!(l.named_by(&names[..2], true).unwrap().categories, l.categories);
        // Unnamed categories beyond the task's classes: an error naming both. Ids index
        // class_names: id 1 is beyond a one-name list, and the background's index with one.
        let e = unnamed.named_by(&names[..1], false).unwrap_err().to_string();
        assert!(e.contains(&dir.path().display().to_string()) && e.contains("1 categories without names (no classes.txt) but the task's class_names (1 classes): category id 1 (class 0)"), "{e}");
        let e = unnamed.named_by(&names[..1], true).unwrap_err().to_string();
        assert!(e.contains("class_names (0 classes besides the background)"), "{e}");
        std::fs::remove_file(dir.path().join("f2.txt")).unwrap();
        write(dir.path(), "f1.txt", "");
        let e = read_yolo_labels(dir.path(), &frames, 1).unwrap_err().to_string();
        assert!(e.contains("f2.txt") && e.contains("no labels for frame sub/f2.png"), "{e}");
    }
}
