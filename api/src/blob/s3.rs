//! Blobs in a bucket of any S3-protocol server (AWS, MinIO, Ceph, OSS …) through rust-s3.
//! An S3 PUT is atomic by itself: the object appears whole or not at all.

use async_trait::async_trait;
use bytes::Bytes;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};

use super::{BlobError, BlobKey, BlobStore};

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    pub path_style: bool,
    /// `x-amz-server-side-encryption` sent with every write (`AES256`, `aws:kms`); empty
    /// sends none (for servers that refuse the header).
    pub server_side_encryption: String,
}

pub struct S3Store {
    bucket: Box<Bucket>,
    /// Headers of every write: server-side encryption, when configured.
    write_headers: http::HeaderMap,
}

fn s3_error(e: S3Error) -> BlobError {
    BlobError::S3(e.to_string())
}

fn is_not_found(e: &S3Error) -> bool {
    matches!(e, S3Error::HttpFailWithBody(404, _))
}

impl S3Store {
    pub fn new(settings: &S3Settings) -> Result<S3Store, BlobError> {
        let region = Region::Custom {
            region: settings.region.clone(),
            endpoint: settings.endpoint.trim_end_matches('/').to_string(),
        };
        let credentials = Credentials::new(
            Some(&settings.access_key),
            Some(&settings.secret_key),
            None,
            None,
            None,
        )
        .map_err(|e| BlobError::S3(e.to_string()))?;
        let mut bucket = Bucket::new(&settings.bucket, region, credentials).map_err(s3_error)?;
        if settings.path_style {
            bucket = bucket.with_path_style();
        }
        let mut write_headers = http::HeaderMap::new();
        let sse = settings.server_side_encryption.trim();
        if !sse.is_empty() {
            write_headers.insert(
                http::HeaderName::from_static("x-amz-server-side-encryption"),
                http::HeaderValue::from_str(sse).map_err(|e| BlobError::S3(e.to_string()))?,
            );
        }
        Ok(S3Store {
            bucket,
            write_headers,
        })
    }
}

#[async_trait]
impl BlobStore for S3Store {
    fn kind(&self) -> &'static str {
        "s3"
    }

    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError> {
        let headers = Some(self.write_headers.clone()).filter(|h| !h.is_empty());
        self.bucket
            .put_object_with_content_type_and_headers(
                key.as_str(),
                &bytes,
                "application/octet-stream",
                headers,
            )
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn put_file(&self, key: &BlobKey, path: &std::path::Path) -> Result<(), BlobError> {
        let mut file = tokio::fs::File::open(path).await?;
        self.bucket
            .put_object_stream_builder(key.as_str())
            .with_headers(self.write_headers.clone())
            .execute_stream(&mut file)
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Bytes>, BlobError> {
        match self.bucket.get_object(key.as_str()).await {
            Ok(response) if response.status_code() == 404 => Ok(None),
            Ok(response) => Ok(Some(response.into_bytes())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(s3_error(e)),
        }
    }

    async fn size(&self, key: &BlobKey) -> Result<Option<u64>, BlobError> {
        match self.bucket.head_object(key.as_str()).await {
            Ok((_, 404)) => Ok(None),
            Ok((head, _)) => Ok(Some(head.content_length.unwrap_or(0).max(0) as u64)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(s3_error(e)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match self.bucket.delete_object(key.as_str()).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(s3_error(e)),
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        self.bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
            .map_err(s3_error)?;
        Ok(())
    }
}
