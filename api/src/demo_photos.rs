//! The demo district's photos: one picture per kind of certificate and one signature,
//! drawn here (no file ships with the binary), stored in the blob store like any upload,
//! so the demo's evidence can be reviewed and its commitments checked.

use std::collections::HashMap;
use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use liuqing_schema::attachments::Attachment;
use liuqing_schema::domain::EvidenceType;
use sha2::{Digest, Sha256};

use crate::blob::{BlobKey, BlobStore};

/// The demo's pictures, stored: their rows wait for the load's transaction.
pub struct DemoPhotos {
    pub evidence: HashMap<EvidenceType, Attachment>,
    pub signature: Attachment,
}

impl DemoPhotos {
    /// Every row, the certificates and the signature.
    pub fn all(&self) -> impl Iterator<Item = &Attachment> {
        self.evidence
            .values()
            .chain(std::iter::once(&self.signature))
    }

    pub fn sha(&self, evidence: EvidenceType) -> &str {
        self.evidence
            .get(&evidence)
            .map_or(self.signature.sha256.as_str(), |a| a.sha256.as_str())
    }
}

/// Draws the pictures and stores their bytes (content-addressed: a second run writes the
/// same objects again, harmlessly).
pub async fn store(blobs: &dyn BlobStore) -> anyhow::Result<DemoPhotos> {
    let mut evidence = HashMap::new();
    for (i, kind) in EvidenceType::ALL.iter().enumerate() {
        let bytes = certificate(i)?;
        let row = put(blobs, bytes, "image/jpeg", 480, 300).await?;
        evidence.insert(*kind, row);
    }
    let signature = put(blobs, signature()?, "image/png", 360, 120).await?;
    Ok(DemoPhotos {
        evidence,
        signature,
    })
}

async fn put(
    blobs: &dyn BlobStore,
    bytes: Vec<u8>,
    media_type: &str,
    width: i32,
    height: i32,
) -> anyhow::Result<Attachment> {
    let sha = hex::encode(Sha256::digest(&bytes));
    let key = BlobKey::attachment(&sha).ok_or_else(|| anyhow::anyhow!("demo photo hash"))?;
    let size = i64::try_from(bytes.len())?;
    blobs.put(&key, bytes.into()).await?;
    Ok(Attachment {
        sha256: sha,
        size,
        media_type: media_type.to_string(),
        width,
        height,
        metadata: "{}".to_string(),
        derived_at: None,
        created_by: String::new(),
        created_at: liuqing_schema::time::now_micros(),
    })
}

/// A card of a colour of its own, with a header band and lines of "text".
fn certificate(index: usize) -> anyhow::Result<Vec<u8>> {
    let hue = [
        [196, 60, 50],
        [40, 110, 180],
        [200, 150, 40],
        [60, 150, 90],
        [150, 70, 160],
        [30, 140, 150],
        [170, 100, 60],
        [90, 90, 170],
        [160, 40, 90],
        [80, 120, 60],
    ][index % 10];
    let image = RgbImage::from_fn(480, 300, |x, y| {
        let band = y < 60;
        let line = y > 90 && (y - 90) % 36 < 8 && (40..440).contains(&x);
        let photo = (330..440).contains(&x) && (90..250).contains(&y);
        if band {
            Rgb(hue)
        } else if photo {
            Rgb([200, 205, 215])
        } else if line {
            Rgb([90, 90, 90])
        } else {
            Rgb([246, 243, 235])
        }
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}

/// A stroke on a transparent background, as a phone's signature pad gives it.
fn signature() -> anyhow::Result<Vec<u8>> {
    let image = RgbaImage::from_fn(360, 120, |x, y| {
        let wave = 60.0 + 30.0 * ((x as f32) / 28.0).sin();
        if (30..330).contains(&x) && ((y as f32) - wave).abs() < 3.0 {
            Rgba([20, 20, 60, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}
