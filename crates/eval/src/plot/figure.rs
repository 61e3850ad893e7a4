//! A figure rendered to both PNG (bitmap, via the `png` encoder) and SVG, and its atomic writing
//! (through `textrnn_fs`).
//!
//! Each figure type implements the private [`Draw`] trait once, generic over the plotters
//! backend; [`render`] runs it on an in-memory RGB bitmap and on an SVG string. Text is drawn with
//! DejaVu Sans embedded in the crate (`assets/DejaVuSans.ttf`, Bitstream Vera licence), so plots
//! look the same on machines without system fonts.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let series = vec![("loss".to_string(), vec![0.7, 0.5, 0.4])];
//! let figure = textrnn_eval::history_figure(&series)?;
//! let written = figure.write(std::path::Path::new("/tmp/history"))?; // history.png, history.svg
//! assert_eq!(written.len(), 2);
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{Error, Result};

static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers the embedded font as plotters' `sans-serif` family (once per process).
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Font)
    }
}

/// One figure in both formats.
#[derive(Debug, Clone)]
pub struct Figure {
    /// PNG file contents.
    pub png: Vec<u8>,
    /// SVG document.
    pub svg: String,
    /// Size in pixels (width, height).
    pub size: (u32, u32),
}

impl Figure {
    /// Writes `<path_stem>.png` and `<path_stem>.svg` atomically (creating missing directories)
    /// and returns their paths.
    pub fn write(&self, path_stem: &Path) -> Result<Vec<PathBuf>> {
        let png = with_extension(path_stem, "png");
        let svg = with_extension(path_stem, "svg");
        textrnn_fs::write(&png, &self.png)?;
        textrnn_fs::write(&svg, self.svg.as_bytes())?;
        Ok(vec![png, svg])
    }
}

/// `stem` with `.ext` appended (keeps dots already in the stem, e.g. `run.v2` -> `run.v2.png`).
fn with_extension(stem: &Path, ext: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Something that can draw itself on any plotters backend.
pub(crate) trait Draw {
    /// Figure size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws on the whole area (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Converts any plotters error to a [`Error`].
pub(crate) fn draw_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Draw(e.to_string())
}

/// Renders a figure to PNG and SVG.
pub(crate) fn render<F: Draw>(figure: &F) -> Result<Figure> {
    ensure_font()?;
    let (w, h) = figure.size();
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        figure.draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        figure.draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    Ok(Figure {
        png: encode_png(&rgb, w, h)?,
        svg,
        size: (w, h),
    })
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(draw_err)?;
    writer.write_image_data(rgb).map_err(draw_err)?;
    writer.finish().map_err(draw_err)?;
    Ok(out)
}

/// Colours of successive series (matplotlib's `tab10`).
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
