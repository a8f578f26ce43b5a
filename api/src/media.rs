//! Images as evidence: the real type sniffed from the bytes, a full decode under limits
//! (so bombs, truncated files and lying headers are refused, never a crash or an
//! out-of-memory), EXIF read into metadata, and the derivatives made without metadata.
//! Everything here is blocking CPU work: call it on a blocking thread.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

use image::{DynamicImage, ImageFormat, ImageReader};
use serde_json::{json, Map, Value};

/// The accepted types, named in the 415 answer.
pub const ACCEPTED: &str = "image/jpeg, image/png, image/webp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
}

impl Kind {
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
        }
    }

    pub fn from_media_type(s: &str) -> Option<Kind> {
        match s {
            "image/jpeg" => Some(Kind::Jpeg),
            "image/png" => Some(Kind::Png),
            "image/webp" => Some(Kind::Webp),
            _ => None,
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::Webp => ImageFormat::WebP,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
    pub max_alloc: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Not an accepted type; names what it looks like, if known.
    #[error("the file is {0}; accepted: {ACCEPTED}")]
    Unsupported(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("the image is damaged or truncated: {0}")]
    Damaged(String),
    #[error("reading the file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The type from the first bytes; the declared type and the file name are never trusted.
pub fn sniff(head: &[u8]) -> Result<Kind, MediaError> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Kind::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Kind::Png);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Ok(Kind::Webp);
    }
    let what = if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = String::from_utf8_lossy(&head[8..12]).to_string();
        match brand.as_str() {
            "heic" | "heix" | "hevc" | "heim" | "heis" | "mif1" | "msf1" => "HEIC/HEIF".to_string(),
            "avif" | "avis" => "AVIF".to_string(),
            _ => format!("an ISO media file ({brand})"),
        }
    } else if head.starts_with(b"GIF8") {
        "GIF".into()
    } else if head.starts_with(b"%PDF") {
        "PDF".into()
    } else if head.is_empty() {
        "empty".into()
    } else {
        "not a recognised image".into()
    };
    Err(MediaError::Unsupported(what))
}

#[derive(Debug, Clone)]
pub struct Info {
    pub kind: Kind,
    pub width: u32,
    pub height: u32,
    /// `captured_at`, `gps` (`latitude`, `longitude`), `orientation`, when the file says.
    pub metadata: Value,
}

fn image_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_alloc);
    l
}

fn check_dimensions(width: u32, height: u32, limits: &Limits) -> Result<(), MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::Damaged("the image has no pixels".into()));
    }
    if width > limits.max_width
        || height > limits.max_height
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(MediaError::TooLarge(format!(
            "the image is {width}×{height} pixels; at most {}×{} and {} pixels are accepted",
            limits.max_width, limits.max_height, limits.max_pixels
        )));
    }
    Ok(())
}

fn from_image_error(e: image::ImageError) -> MediaError {
    match e {
        image::ImageError::Limits(l) => MediaError::TooLarge(format!(
            "decoding the image would exceed the server's limits ({l})"
        )),
        image::ImageError::Unsupported(u) => MediaError::Unsupported(u.to_string()),
        image::ImageError::IoError(io) => MediaError::Damaged(io.to_string()),
        other => MediaError::Damaged(other.to_string()),
    }
}

/// Sniffs, checks the declared size against the limits, then decodes every pixel under
/// the allocation limit, so a file that cannot be shown is refused now, not at review.
pub fn validate(path: &Path, limits: &Limits) -> Result<Info, MediaError> {
    let mut file = std::fs::File::open(path)?;
    let mut head = [0u8; 32];
    let n = read_up_to(&mut file, &mut head)?;
    let kind = sniff(&head[..n])?;
    file.rewind()?;
    if kind == Kind::Jpeg {
        // The JPEG decoder fills a cut-off scan with grey; the markers tell the truth.
        check_jpeg_structure(&mut BufReader::new(&mut file))?;
        file.rewind()?;
    }
    // The header first, under the allocation limit only, so a refusal can name the size.
    let mut header = ImageReader::new(BufReader::new(&mut file));
    header.set_format(kind.format());
    let mut only_alloc = image::Limits::default();
    only_alloc.max_alloc = Some(limits.max_alloc);
    header.limits(only_alloc);
    let (width, height) = header.into_dimensions().map_err(from_image_error)?;
    check_dimensions(width, height, limits)?;
    file.rewind()?;
    let mut reader = ImageReader::new(BufReader::new(file));
    reader.set_format(kind.format());
    reader.limits(image_limits(limits));
    let decoder = reader.into_decoder().map_err(from_image_error)?;
    DynamicImage::from_decoder(decoder).map_err(from_image_error)?;
    let metadata = read_exif(path);
    Ok(Info {
        kind,
        width,
        height,
        metadata,
    })
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Walks the JPEG's markers to the end-of-image marker; a file that ends before it is
/// truncated. Bytes after it (phone makers append their own) are allowed.
fn check_jpeg_structure(r: &mut impl Read) -> Result<(), MediaError> {
    let truncated = || MediaError::Damaged("the JPEG ends before its end-of-image marker".into());
    let mut byte = [0u8; 1];
    let mut next = |r: &mut dyn Read| -> Result<u8, MediaError> {
        match r.read(&mut byte)? {
            0 => Err(truncated()),
            _ => Ok(byte[0]),
        }
    };
    if next(r)? != 0xFF || next(r)? != 0xD8 {
        return Err(MediaError::Damaged("no JPEG start-of-image marker".into()));
    }
    let mut in_scan = false;
    loop {
        let b = next(r)?;
        if b != 0xFF {
            if in_scan {
                continue;
            }
            return Err(MediaError::Damaged("a JPEG marker was expected".into()));
        }
        let mut marker = next(r)?;
        while marker == 0xFF {
            marker = next(r)?;
        }
        match marker {
            // Stuffed zero or restart markers belong to the entropy-coded data.
            0x00 | 0xD0..=0xD7 if in_scan => continue,
            0x00 | 0xD0..=0xD7 | 0x01 => continue,
            0xD9 => return Ok(()),
            _ => {
                let len = (u16::from(next(r)?) << 8) | u16::from(next(r)?);
                if len < 2 {
                    return Err(MediaError::Damaged(
                        "a JPEG segment has a bad length".into(),
                    ));
                }
                for _ in 0..len - 2 {
                    next(r)?;
                }
                in_scan = marker == 0xDA;
            }
        }
    }
}

/// EXIF capture time, GPS and orientation; a file without EXIF has empty metadata.
pub fn read_exif(path: &Path) -> Value {
    let mut out = Map::new();
    let Ok(file) = std::fs::File::open(path) else {
        return Value::Object(out);
    };
    let Ok(exif) = exif::Reader::new().read_from_container(&mut BufReader::new(file)) else {
        return Value::Object(out);
    };
    let field = |tag| exif.get_field(tag, exif::In::PRIMARY);
    if let Some(f) = field(exif::Tag::DateTimeOriginal).or_else(|| field(exif::Tag::DateTime)) {
        if let exif::Value::Ascii(ref v) = f.value {
            if let Some(dt) = v.first().and_then(|b| exif::DateTime::from_ascii(b).ok()) {
                out.insert(
                    "captured_at".into(),
                    json!(format!(
                        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second
                    )),
                );
                if let Some(offset) = dt.offset {
                    out.insert("utc_offset_minutes".into(), json!(offset));
                }
            }
        }
    }
    if let Some(o) = field(exif::Tag::Orientation).and_then(|f| f.value.get_uint(0)) {
        out.insert("orientation".into(), json!(o));
    }
    let coordinate = |value_tag, ref_tag, negative: &[u8]| -> Option<f64> {
        let exif::Value::Rational(ref parts) = field(value_tag)?.value else {
            return None;
        };
        let deg = parts.first()?.to_f64()
            + parts.get(1)?.to_f64() / 60.0
            + parts.get(2).map(|p| p.to_f64()).unwrap_or(0.0) / 3600.0;
        let sign = match field(ref_tag).map(|f| &f.value) {
            Some(exif::Value::Ascii(v)) if v.first().is_some_and(|s| s.as_slice() == negative) => {
                -1.0
            }
            _ => 1.0,
        };
        deg.is_finite().then_some(sign * deg)
    };
    if let (Some(lat), Some(lon)) = (
        coordinate(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, b"S"),
        coordinate(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, b"W"),
    ) {
        if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
            out.insert("gps".into(), json!({ "latitude": lat, "longitude": lon }));
        }
    }
    Value::Object(out)
}

/// The two derivatives of one original.
#[derive(Debug)]
pub struct Derived {
    pub media_type: &'static str,
    pub thumbnail: Vec<u8>,
    pub review: Vec<u8>,
}

pub const THUMBNAIL_SIDE: u32 = 320;
pub const REVIEW_SIDE: u32 = 1280;

/// Makes the thumbnail and the review image: orientation applied, re-encoded from pixels
/// so no metadata survives; photos as JPEG, images with transparency (signatures) as PNG.
pub fn derive(
    original: &[u8],
    kind: Kind,
    orientation: Option<u8>,
    limits: &Limits,
) -> Result<Derived, MediaError> {
    let decoded = match kind {
        Kind::Jpeg => decode_jpeg_reduced(original, REVIEW_SIDE, limits)?,
        Kind::Png | Kind::Webp => {
            let mut reader = ImageReader::new(std::io::Cursor::new(original));
            reader.set_format(kind.format());
            reader.limits(image_limits(limits));
            reader.decode().map_err(from_image_error)?
        }
    };
    // Two pixel layouts only, 8 bits a channel: what the resizer and the encoders take.
    let alpha = decoded.color().has_alpha();
    let decoded = match decoded {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => decoded,
        other if alpha => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    };
    let mut review = fit(&decoded, REVIEW_SIDE)?;
    drop(decoded);
    if let Some(o) = orientation.and_then(image::metadata::Orientation::from_exif) {
        review.apply_orientation(o);
    }
    let thumbnail = fit(&review, THUMBNAIL_SIDE)?;
    Ok(Derived {
        media_type: if alpha { "image/png" } else { "image/jpeg" },
        thumbnail: encode(&thumbnail)?,
        review: encode(&review)?,
    })
}

/// JPEG through a SIMD encoder (writes JFIF only, no EXIF); RGBA as PNG.
fn encode(image: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    match image {
        DynamicImage::ImageRgb8(rgb) => {
            let side = |n: u32| {
                u16::try_from(n).map_err(|_| MediaError::TooLarge("too wide to encode".into()))
            };
            jpeg_encoder::Encoder::new(&mut out, 82)
                .encode(
                    rgb.as_raw(),
                    side(rgb.width())?,
                    side(rgb.height())?,
                    jpeg_encoder::ColorType::Rgb,
                )
                .map_err(|e| MediaError::Damaged(e.to_string()))?;
        }
        other => other
            .write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png)
            .map_err(from_image_error)?,
    }
    Ok(out)
}

/// Shrinks an RGB8 or RGBA8 image to fit `side` (never enlarges), with a SIMD convolution
/// on 8-bit pixels (alpha premultiplied, so transparent edges do not darken).
fn fit(image: &DynamicImage, side: u32) -> Result<DynamicImage, MediaError> {
    use fast_image_resize as fr;
    let (w, h) = (image.width(), image.height());
    if w <= side && h <= side {
        return Ok(image.clone());
    }
    let scale = f64::from(side) / f64::from(w.max(h));
    let tw = ((f64::from(w) * scale).round() as u32).clamp(1, side);
    let th = ((f64::from(h) * scale).round() as u32).clamp(1, side);
    let (pixel_type, raw) = match image {
        DynamicImage::ImageRgb8(b) => (fr::PixelType::U8x3, b.as_raw()),
        DynamicImage::ImageRgba8(b) => (fr::PixelType::U8x4, b.as_raw()),
        _ => return Err(MediaError::Damaged("unexpected pixel layout".into())),
    };
    let resize_error = |e: &dyn std::fmt::Display| MediaError::Damaged(format!("resizing: {e}"));
    let src = fr::images::ImageRef::new(w, h, raw, pixel_type).map_err(|e| resize_error(&e))?;
    let mut dst = fr::images::Image::new(tw, th, pixel_type);
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::CatmullRom));
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| resize_error(&e))?;
    let bad = || MediaError::Damaged("the resized pixels do not match the size".into());
    Ok(match pixel_type {
        fr::PixelType::U8x4 => DynamicImage::ImageRgba8(
            image::RgbaImage::from_raw(tw, th, dst.into_vec()).ok_or_else(bad)?,
        ),
        _ => DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(tw, th, dst.into_vec()).ok_or_else(bad)?,
        ),
    })
}

/// Decodes a JPEG at the smallest DCT scale (1/1 … 1/8) that still covers `side`: a 12 MP
/// photo becomes about 1.5 MP before any pixel is resized, in time and memory.
fn decode_jpeg_reduced(
    bytes: &[u8],
    side: u32,
    limits: &Limits,
) -> Result<DynamicImage, MediaError> {
    let damaged = |e: jpeg_decoder::Error| MediaError::Damaged(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    decoder.read_info().map_err(damaged)?;
    let info = decoder
        .info()
        .ok_or_else(|| MediaError::Damaged("no JPEG frame".into()))?;
    check_dimensions(u32::from(info.width), u32::from(info.height), limits)?;
    let side = u16::try_from(side).unwrap_or(u16::MAX);
    let (w, h) = decoder.scale(side, side).map_err(damaged)?;
    let pixels = decoder.decode().map_err(damaged)?;
    let info = decoder
        .info()
        .ok_or_else(|| MediaError::Damaged("no JPEG frame".into()))?;
    let (w, h) = (u32::from(w), u32::from(h));
    let bad = || MediaError::Damaged("the decoded pixels do not match the size".into());
    Ok(match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, pixels).ok_or_else(bad)?)
        }
        jpeg_decoder::PixelFormat::L8 => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, pixels).ok_or_else(bad)?)
        }
        jpeg_decoder::PixelFormat::L16 => {
            let gray: Vec<u8> = pixels.chunks_exact(2).map(|p| p[0]).collect();
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, gray).ok_or_else(bad)?)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            // Adobe CMYK JPEGs are stored inverted; this is the usual approximation.
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(p[3]);
                    [0, 1, 2].map(|i| ((u16::from(p[i]) * k) / 255) as u8)
                })
                .collect();
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, rgb).ok_or_else(bad)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_names_what_is_refused() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).ok(), Some(Kind::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").ok(), Some(Kind::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").ok(), Some(Kind::Webp));
        let heic = sniff(b"\0\0\0\x18ftypheic\0\0\0\0").expect_err("heic");
        assert!(heic.to_string().contains("HEIC"), "{heic}");
        assert!(heic.to_string().contains(ACCEPTED));
        assert!(sniff(b"GIF89a").is_err());
        assert!(sniff(b"").is_err());
    }

    #[test]
    fn jpeg_structure_finds_truncation() {
        let mut jpeg = Vec::new();
        let img = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 10, 10]));
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&img)
            .expect("encode");
        assert!(check_jpeg_structure(&mut &jpeg[..]).is_ok());
        let mut trailer = jpeg.clone();
        trailer.extend_from_slice(b"vendor trailer");
        assert!(check_jpeg_structure(&mut &trailer[..]).is_ok());
        for cut in [3, jpeg.len() / 2, jpeg.len() - 2] {
            assert!(
                check_jpeg_structure(&mut &jpeg[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }
}
