//! Image fixtures made in code: photos with EXIF, signatures with transparency, and the
//! bad inputs (a PNG bomb, a truncated JPEG, HEIC).

use sha2::{Digest, Sha256};

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A noisy RGB JPEG (noise keeps it from compressing to nothing).
pub fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let v = x.wrapping_mul(31) ^ y.wrapping_mul(17) ^ seed.wrapping_mul(2654435761);
        image::Rgb([(v % 251) as u8, (x % 256) as u8, (y % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("encode jpeg");
    out
}

/// A signature: black strokes on a transparent background.
pub fn signature_png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        if (x + y) % 7 == 0 {
            image::Rgba([0, 0, 0, 255])
        } else {
            image::Rgba([255, 255, 255, 0])
        }
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode png");
    out
}

fn be16(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}
fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

fn entry(out: &mut Vec<u8>, tag: u16, ty: u16, count: u32, value: [u8; 4]) {
    out.extend(be16(tag));
    out.extend(be16(ty));
    out.extend(be32(count));
    out.extend(value);
}

/// A JPEG with an EXIF segment: orientation 6 (rotate 90° clockwise to show), a capture
/// time, and GPS 26.08°N 119.30°E (Fuzhou).
pub fn jpeg_with_exif(width: u32, height: u32, seed: u32) -> Vec<u8> {
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let mut t = Vec::new();
    t.extend(b"MM\0\x2a");
    t.extend(be32(8));
    // IFD0 at 8: 3 entries → ends at 8 + 2 + 36 + 4 = 50.
    t.extend(be16(3));
    entry(&mut t, 0x0112, SHORT, 1, [0, 6, 0, 0]);
    entry(&mut t, 0x0132, ASCII, 20, be32(50));
    entry(&mut t, 0x8825, LONG, 1, be32(70));
    t.extend(be32(0));
    t.extend(b"2026:11:20 10:30:00\0");
    // GPS IFD at 70: 4 entries → ends at 70 + 2 + 48 + 4 = 124.
    t.extend(be16(4));
    entry(&mut t, 0x0001, ASCII, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, RATIONAL, 3, be32(124));
    entry(&mut t, 0x0003, ASCII, 2, *b"E\0\0\0");
    entry(&mut t, 0x0004, RATIONAL, 3, be32(148));
    t.extend(be32(0));
    for (n, d) in [(26, 1), (4, 1), (48, 1), (119, 1), (18, 1), (0, 1)] {
        t.extend(be32(n));
        t.extend(be32(d));
    }
    assert_eq!(t.len(), 172);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(t);
    let plain = jpeg(width, height, seed);
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(be16(u16::try_from(app1.len() + 2).expect("small")));
    out.extend(app1);
    out.extend(&plain[2..]);
    out
}

/// A valid PNG header declaring 100000×100000 pixels, with a tiny IDAT: a decompression
/// bomb by declaration.
pub fn png_bomb() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend(be32(data.len() as u32));
        let mut crc_input = kind.to_vec();
        crc_input.extend(data);
        out.extend(crc_input.iter().copied());
        out.extend(be32(crc32(&crc_input)));
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(be32(100_000));
    ihdr.extend(be32(100_000));
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // zlib of a few zero bytes; the rest would inflate from nothing.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The first bytes of an iPhone HEIC photo (an ISO media `ftyp` box, brand `heic`).
pub fn heic() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(be32(24));
    out.extend(b"ftypheic");
    out.extend(be32(0));
    out.extend(b"mif1heic");
    out.extend(vec![0u8; 4000]);
    out
}

/// Whether bytes carry an EXIF block.
pub fn has_exif(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"Exif\0\0")
}
