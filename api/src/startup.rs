//! Building the server from a configuration and a listener, so tests can start as many as
//! they like on port 0, each with its own database.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, Compress};
use actix_web::{web, App, HttpRequest, HttpServer};
use liuqing_schema::db;

use liuqing_schema::crypto::FieldCipher;

use liuqing_sync::writer::Pushes;

use crate::auth::tokens::{key_file, load_or_create_key, TokenKeys};
use crate::blob::{BlobStore, EncryptedStore, LocalStore, S3Settings, S3Store};
use crate::config::{BlobStoreKind, Config};
use crate::db::Db;
use crate::error::ApiError;
use crate::extract::BodyLimits;
use crate::files;
use crate::staging::SealedStaging;
use crate::state::AppState;
use crate::{bootstrap, console, derivatives, maintenance, middleware, routes};

pub struct Application {
    port: u16,
    server: Server,
    maintenance: actix_web::rt::task::JoinHandle<()>,
    workers: Vec<actix_web::rt::task::JoinHandle<()>>,
}

/// Opens the database, applies migrations (filling what a migration cannot: the scope
/// digests) and makes sure there is a first admin.
pub async fn prepare_database(config: &Config) -> anyhow::Result<Db> {
    let backend = config.backend()?;
    let pool = db::pool(&backend, config.database_pool_size)?;
    let config = config.clone();
    let pool_for_setup = pool.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = pool_for_setup.get()?;
        let applied = db::migrate_up(&mut conn)?;
        if !applied.is_empty() {
            tracing::info!(backend = backend.name(), migrations = ?applied, "applied migrations");
        }
        if liuqing_sync::feed::build_digests(&mut conn)? {
            tracing::info!("filled the communities' scope digests from their records");
        }
        bootstrap::ensure_first_admin(&mut conn, &config)
    })
    .await??;
    Ok(Db::new(pool))
}

/// The blob store: a local folder (encrypted with a key derived from the field key unless
/// turned off) or S3 (encrypted by the server on request).
pub fn blob_store(config: &Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    Ok(match config.blob_store {
        BlobStoreKind::Local => {
            let local: Arc<dyn BlobStore> = Arc::new(LocalStore::open(config.blob_path())?);
            if config.local_blob_encryption {
                let key = liuqing_schema::crypto::derive_key(
                    &field_master_key(config)?,
                    b"liuqing blob encryption v1",
                );
                Arc::new(EncryptedStore::new(local, &key, &config.staging_path()))
            } else {
                local
            }
        }
        BlobStoreKind::S3 => Arc::new(S3Store::new(&S3Settings {
            endpoint: config.s3_endpoint.clone(),
            region: config.s3_region.clone(),
            bucket: config.s3_bucket.clone(),
            access_key: config.s3_access_key.expose().to_string(),
            secret_key: config.s3_secret_key.expose().to_string(),
            path_style: config.s3_path_style,
            server_side_encryption: config.s3_server_side_encryption.clone(),
        })?),
    })
}

/// The field cipher: the configured key, else one generated into `<data_dir>/field.key`.
pub fn field_cipher(config: &Config) -> anyhow::Result<FieldCipher> {
    let current = field_master_key(config)?;
    Ok(FieldCipher::new(&current, &config.previous_field_keys()))
}

/// The configured master key, else the one generated into `<data_dir>/field.key`.
pub fn field_master_key(config: &Config) -> anyhow::Result<[u8; 32]> {
    Ok(if config.field_key.expose().is_empty() {
        let bytes = key_file(&config.data_dir, "field.key", 32)?;
        bytes
            .get(..32)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| anyhow::anyhow!("field.key is too short"))?
    } else {
        liuqing_schema::crypto::parse_key(config.field_key.expose())?
    })
}

impl Application {
    pub async fn build(config: Config, listener: TcpListener) -> anyhow::Result<Application> {
        // Owner-only, before anything is written into them (the database, keys, blobs).
        files::private_dir(&config.data_dir)?;
        files::private_dir(&config.staging_path())?;
        let db = prepare_database(&config).await?;
        let key = load_or_create_key(config.jwt_secret.expose(), &config.data_dir)?;
        let keys = TokenKeys::new(
            &key,
            &config.jwt_issuer,
            config.access_token_ttl_secs,
            config.jwt_leeway_secs,
        );
        let console_keys = TokenKeys::new(
            &key,
            &format!("{}/console", config.jwt_issuer),
            u64::from(config.console_idle_minutes) * 60,
            config.jwt_leeway_secs,
        );
        let blobs = blob_store(&config)?;
        let cipher = Arc::new(field_cipher(&config)?);
        let staging = SealedStaging::new(&liuqing_schema::crypto::derive_key(
            &field_master_key(&config)?,
            b"liuqing staging encryption v1",
        ));
        let port = listener.local_addr()?.port();
        let http_workers = config.workers;
        let decodes = config.image_max_concurrent_decodes;
        let config = Arc::new(config);
        let pushes = Arc::new(Pushes::new(
            cipher.clone(),
            config.sync_settings(),
            db.pool().clone(),
        ));
        let state = web::Data::new(AppState {
            config,
            db,
            keys,
            console_keys,
            blobs,
            cipher,
            decodes: Arc::new(tokio::sync::Semaphore::new(decodes)),
            staging,
            pushes,
            vacancies: Arc::default(),
        });
        let json_limit = web::Data::new(BodyLimits {
            json: state.config.max_json_body_bytes,
            public: state.config.max_public_body_bytes,
            read_timeout: std::time::Duration::from_secs(state.config.body_read_timeout_secs),
        });
        let maintenance = actix_web::rt::spawn(maintenance::run(state.clone()));
        let mut workers: Vec<_> = (0..state.config.derivative_workers)
            .map(|_| actix_web::rt::spawn(derivatives::run(state.clone())))
            .collect();
        if matches!(state.config.backend()?, db::Backend::Sqlite(_)) {
            workers.push(actix_web::rt::spawn(maintenance::checkpoint_wal(
                state.db.clone(),
            )));
        }
        let mut server =
            HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .app_data(json_limit.clone())
                    .app_data(web::QueryConfig::default().error_handler(|err, _| {
                        ApiError::BadRequest(format!("query string: {err}")).into()
                    }))
                    .app_data(web::PathConfig::default().error_handler(|err, _| {
                        ApiError::not_found(format!("path ({err})")).into()
                    }))
                    .configure(console::configure)
                    .configure(routes::configure)
                    .default_service(web::to(not_found))
                    .wrap(from_fn(middleware::problem_bodies))
                    .wrap(from_fn(middleware::security_headers))
                    .wrap(from_fn(middleware::trace_request))
                    .wrap(Compress::default())
            })
            .listen(listener)?
            .shutdown_timeout(30);
        if http_workers > 0 {
            server = server.workers(http_workers);
        }
        Ok(Application {
            port,
            server: server.run(),
            maintenance,
            workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or `handle().stop()`); in-flight requests finish first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.maintenance.abort();
        for worker in &self.workers {
            worker.abort();
        }
        result
    }
}

async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found(format!(
        "route {} {}",
        req.method(),
        req.path()
    )))
}
