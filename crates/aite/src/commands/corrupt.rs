//! `aite corrupt`: write corrupted copies of images, so people can see what
//! each corruption and severity does, and other tools can be compared with ours.

use crate::cli::CorruptArgs;
use crate::commands::robustness::sweep_options;
use aite_robustness::corruption::{corrupt, sample_seed, ParameterTable};
use anyhow::{Context, Result};
use image::RgbImage;
use rayon::prelude::*;

/// Thumbnail height in the contact sheet.
const THUMB: u32 = 96;

pub fn run(a: CorruptArgs) -> Result<u8> {
    let options = sweep_options(&a.corruptions, &a.severities, &a.table, "auto", a.seed, None, false)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let mut index = String::from("image,corruption,severity,table,seed,file\n");
    let mut sheet_rows: Vec<Vec<RgbImage>> = Vec::new();
    for (n, path) in a.images.iter().enumerate() {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read image {}", path.display()))?;
        let img = aite_data::decode(&path.display().to_string(), &bytes, aite_data::ColorOrder::Rgb)?;
        let rgb = aite_robustness::corruption::image_to_rgb8(&img, aite_data::ColorOrder::Rgb);
        let table = options.table.unwrap_or_else(|| ParameterTable::for_size(img.width, img.height));
        let stem: String = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| format!("image{n}"));
        let dir = a.out.join(format!("{n:03}-{stem}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let cells = options.all_cells();
        let outputs: Vec<(String, RgbImage)> = cells
            .par_iter()
            .map(|&(kind, s)| (format!("{kind}-s{s}.png"), corrupt(&rgb, kind, s, table, sample_seed(a.seed, kind, s, n))))
            .collect();
        for ((kind, s), (name, out)) in cells.iter().zip(&outputs) {
            let file = dir.join(name);
            out.save(&file).with_context(|| format!("cannot write {}", file.display()))?;
            index.push_str(&format!("{},{kind},{s},{},{},{}\n", path.display(), table.name(), a.seed, file.display()));
        }
        if n == 0 {
            // Contact sheet of the first image: one row per corruption, clean first.
            for kind in &options.kinds {
                let mut row = vec![thumb(&rgb)];
                row.extend(cells.iter().zip(&outputs).filter(|((k, _), _)| k == kind).map(|(_, (_, o))| thumb(o)));
                sheet_rows.push(row);
            }
        }
    }
    let sheet = contact_sheet(&sheet_rows);
    let sheet_path = a.out.join("contact-sheet.png");
    sheet.save(&sheet_path).with_context(|| format!("cannot write {}", sheet_path.display()))?;
    std::fs::write(a.out.join("index.csv"), index).with_context(|| format!("cannot write {}", a.out.join("index.csv").display()))?;
    let kinds: Vec<&str> = options.kinds.iter().map(|k| k.name()).collect();
    println!("wrote {} images to {}", a.images.len() * options.all_cells().len(), a.out.display());
    println!("contact sheet: {} (rows: {}; columns: clean, then severities {:?})", sheet_path.display(), kinds.join(", "), options.severities);
    Ok(0)
}

fn thumb(img: &RgbImage) -> RgbImage {
    let w = (img.width() as u64 * THUMB as u64 / img.height().max(1) as u64).max(1) as u32;
    image::imageops::resize(img, w, THUMB, image::imageops::FilterType::Triangle)
}

fn contact_sheet(rows: &[Vec<RgbImage>]) -> RgbImage {
    let gap = 4;
    let width = rows.iter().map(|r| r.iter().map(|t| t.width() + gap).sum::<u32>()).max().unwrap_or(1) + gap;
    let height = rows.len() as u32 * (THUMB + gap) + gap;
    let mut sheet = RgbImage::from_pixel(width, height.max(1), image::Rgb([255, 255, 255]));
    for (r, row) in rows.iter().enumerate() {
        let mut x = gap;
        for t in row {
            image::imageops::replace(&mut sheet, t, x as i64, (gap + r as u32 * (THUMB + gap)) as i64);
            x += t.width() + gap;
        }
    }
    sheet
}
