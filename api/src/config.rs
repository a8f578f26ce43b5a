//! Configuration: defaults → optional TOML file (`--config`) → environment (`LIUQING_…`),
//! the environment last. Every setting has a default, so the server starts with none.
//! A bad setting stops the start with one line naming it.

use liuqing_schema::domain::follow_ups::Months;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use liuqing_schema::domain::retirement::RetirementBase;
use liuqing_schema::domain::subsidies::{Fen, Level, PeriodRule, Standards, Thresholds};
use liuqing_schema::domain::{EvidenceType, WorkCalendar};
use liuqing_schema::org::OrgKind;
use liuqing_schema::Backend;
use serde::{Deserialize, Serialize};

/// A secret value: never printed, not even by `{:?}`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobStoreKind {
    Local,
    S3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Every setting. Field names are the TOML keys; `LIUQING_<NAME>` sets one from the
/// environment (`LIUQING_BIND`, `LIUQING_DATABASE_URL`, …).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address and port to listen on.
    pub bind: String,
    /// Folder for the SQLite file, local blobs and the generated JWT key.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; a file path (or `sqlite://path`) for SQLite.
    /// Empty: `<data_dir>/liuqing.db`. Plain `DATABASE_URL` is read too.
    pub database_url: String,
    /// Database connections per server process.
    pub database_pool_size: u32,
    pub blob_store: BlobStoreKind,
    /// Folder of the local blob store. Empty: `<data_dir>/blobs`.
    pub blob_dir: String,
    pub s3_endpoint: String,
    pub s3_region: String,
    pub s3_bucket: String,
    pub s3_access_key: Secret,
    pub s3_secret_key: Secret,
    /// Path-style addressing (`endpoint/bucket/key`), as most self-hosted S3 servers want.
    pub s3_path_style: bool,
    /// Server-side encryption asked of S3 on every write (`AES256`, `aws:kms`); empty: none.
    pub s3_server_side_encryption: String,
    /// Encrypt blobs in the local folder (AES-256-GCM, key derived from `field_key`).
    pub local_blob_encryption: bool,
    /// HMAC key for access tokens (at least 32 bytes). Empty: generated once and kept in
    /// `<data_dir>/jwt.key`.
    pub jwt_secret: Secret,
    pub jwt_issuer: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// Clock leeway when checking token times.
    pub jwt_leeway_secs: u64,
    /// Largest JSON request body.
    pub max_json_body_bytes: usize,
    /// Largest JSON body of a route that needs no login (login, refresh): a stranger's
    /// body is held in memory before anything about them is known.
    pub max_public_body_bytes: usize,
    /// How long a JSON request body may take to arrive, whole (a body still arriving then
    /// is answered 408 and its connection closed), and how long an upload may go silent
    /// (then it is cut as if the connection dropped; a resumable one keeps what arrived).
    pub body_read_timeout_secs: u64,
    /// Largest uploaded file.
    pub max_upload_bytes: usize,
    /// Largest image width and height accepted, in pixels.
    pub image_max_width: u32,
    pub image_max_height: u32,
    /// Most pixels (width × height) of an accepted image.
    pub image_max_pixels: u64,
    /// Most memory the image decoder may allocate for one image.
    pub image_max_alloc_bytes: u64,
    /// Hours an unfinished resumable upload is kept after its last chunk.
    pub upload_expiry_hours: u64,
    /// Unfinished resumable uploads one user may hold at once (each may declare up to
    /// `max_upload_bytes` of staging).
    pub max_open_uploads_per_user: u32,
    /// Background workers making thumbnails; 0 makes none here (another replica may).
    pub derivative_workers: usize,
    /// Uploaded images decoded at the same time to validate them; more wait their turn, so
    /// many uploads at once cannot each take `image_max_alloc_bytes` and exhaust memory.
    pub image_max_concurrent_decodes: usize,
    /// How far ahead of the server a phone's clock may be.
    pub max_clock_skew_secs: u64,
    /// Failed logins to one username from one source address before that pair is locked.
    pub login_max_failures: u32,
    /// Failed logins to one username from anywhere before it is locked everywhere (a
    /// guess spread over many addresses).
    pub login_max_failures_per_user: u32,
    /// Failed logins from one source address, to any usernames, before it is locked.
    pub login_max_failures_per_source: u32,
    pub login_window_secs: u64,
    pub login_lockout_secs: u64,
    /// Exact lookups of a person by full ID number or phone one user may make in an hour
    /// (each is logged): a day of door-to-door work needs far fewer; a sweep of the
    /// candidates for a masked value needs far more.
    pub lookup_max_per_hour: u32,
    /// Logins that may wait for the password hasher at once; more are answered 429 with
    /// `Retry-After` at once rather than made to wait behind a flood.
    pub login_max_waiting: u32,
    /// Behind a reverse proxy: take the client's address from `Forwarded` /
    /// `X-Forwarded-For` (the proxy must set it). Never when clients reach the server
    /// directly: they could then name any address.
    pub trusted_proxy: bool,
    /// 64 hex characters: the master key that encrypts ID numbers and phones at rest and
    /// keys their lookup hashes. Empty: generated once into `<data_dir>/field.key`.
    /// Replicas must share it.
    pub field_key: Secret,
    /// Earlier field keys (comma-separated hex), still used to decrypt after a rotation.
    pub field_keys_previous: Secret,
    /// Most mutations in one push.
    pub sync_max_mutations: usize,
    /// Most records in one pull page (the default page is 500 or this, if smaller).
    pub sync_max_page: i64,
    /// Days a deleted record's tombstone is kept for phones to pull; a phone whose cursor
    /// is older must pull everything again (410).
    pub tombstone_retention_days: u64,
    /// Working days an application is publicly posted (公示) before it can be recognised.
    pub publicity_working_days: u32,
    /// Months after a placement when follow-ups (跟踪回访) are due, comma-separated.
    pub follow_up_months: String,
    /// Working days from 受理 within which the initial review (初审) is done.
    pub initial_review_working_days: u32,
    /// Days a rejected applicant waits before applying again (the guide leaves the period
    /// to the deployment).
    pub reapply_wait_days: u32,
    /// Days after which a household not reached (a `met` visit) is due a visit.
    pub visit_interval_days: u32,
    /// Days after which six clears not updated count as stale in the coverage report.
    pub six_clears_stale_days: u32,
    /// Metres from a household's usual location beyond which a visit's GPS is flagged.
    pub visit_gps_far_m: u32,
    /// Whether the upkeep gives coordinators a `visit` task for each household due a visit
    /// (a deployment whose phones do not show tasks yet may turn it off; the due list
    /// still shows them).
    pub visit_tasks: bool,
    /// Open `job_match` tasks a recognised person may hold from the daily new-matches run
    /// (0 turns the run off).
    pub match_tasks_per_person: u32,
    /// The least score a match needs to become a task.
    pub match_task_min_score: u32,
    /// Subsidies: the org-node kind whose users take each level's steps of the approval
    /// chain, `level=kind` pairs for the levels `station`, `street` and `district`.
    pub subsidy_levels: String,
    /// Subsidies: years a person may enjoy one, from their first month.
    pub subsidy_period_years: u32,
    /// Subsidies: those this many years from retirement age or fewer at their first
    /// month enjoy it until retirement instead.
    pub subsidy_extended_within_years: u32,
    /// The public-welfare job subsidy for one placed person, yuan a month.
    pub public_welfare_monthly_yuan: u32,
    /// The flexible-employment subsidy's most a month for each insurance, yuan (0: that
    /// insurance is not subsidised).
    pub flexible_pension_monthly_yuan: u32,
    pub flexible_medical_monthly_yuan: u32,
    pub flexible_unemployment_monthly_yuan: u32,
    /// The local minimum wage, yuan a month (a public-welfare job paying less stops).
    pub minimum_wage_yuan: u32,
    /// Last year's local average wage of employees, yuan a month (flexible work earning
    /// as much stops).
    pub average_wage_yuan: u32,
    /// The retirement base for women on public-welfare jobs and for women in flexible
    /// work: `women_50` or `women_55`.
    pub women_retirement_public_welfare: String,
    pub women_retirement_flexible: String,
    /// Minutes a visit takes at least: shorter ones are flagged, and two households'
    /// visits begun this close together at one position on one device.
    pub visit_min_minutes: u32,
    /// Minutes without a request after which a console session must log in again.
    pub console_idle_minutes: u32,
    /// Hours after which a console session ends, however busy.
    pub console_session_hours: u32,
    /// Mark the console's cookies `Secure` (only sent over HTTPS). They are also when a
    /// request arrives over HTTPS (as the proxy says, with `trusted_proxy`).
    pub console_secure_cookies: bool,
    /// Public holidays that fall on working days, comma-separated `YYYY-MM-DD` (法定节假日).
    pub holidays: String,
    /// Weekend days that are working days, comma-separated `YYYY-MM-DD` (调休上班).
    pub extra_workdays: String,
    /// Evidence the station gets by data sharing, so the one-time notice does not ask the
    /// applicant for it: comma-separated evidence types, e.g. `low_income_certificate`.
    pub shared_evidence_types: String,
    /// The stations' offset from UTC in minutes (China: 480). Decides what "today" is for
    /// dates the server stamps and for the rules (ages, deadlines, publicity).
    pub utc_offset_minutes: i32,
    /// Password for the first admin on a fresh database. Empty: a random one-time password
    /// is printed to the log once and must be changed at first login.
    pub admin_password: Secret,
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `liuqing_api=debug,info`.
    pub log_level: String,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            database_pool_size: 8,
            blob_store: BlobStoreKind::Local,
            blob_dir: String::new(),
            s3_endpoint: String::new(),
            s3_region: "us-east-1".into(),
            s3_bucket: String::new(),
            s3_access_key: Secret::default(),
            s3_secret_key: Secret::default(),
            s3_path_style: true,
            s3_server_side_encryption: "AES256".into(),
            local_blob_encryption: true,
            jwt_secret: Secret::default(),
            jwt_issuer: "liuqing".into(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            jwt_leeway_secs: 30,
            max_json_body_bytes: 2 * 1024 * 1024,
            max_public_body_bytes: 4 * 1024,
            max_open_uploads_per_user: 50,
            body_read_timeout_secs: 30,
            max_upload_bytes: 20 * 1024 * 1024,
            image_max_width: 12_000,
            image_max_height: 12_000,
            image_max_pixels: 50_000_000,
            image_max_alloc_bytes: 512 * 1024 * 1024,
            upload_expiry_hours: 72,
            derivative_workers: 1,
            image_max_concurrent_decodes: 2,
            max_clock_skew_secs: 5 * 60,
            login_max_failures: 5,
            login_max_failures_per_user: 50,
            login_max_failures_per_source: 50,
            login_max_waiting: 16,
            lookup_max_per_hour: 120,
            trusted_proxy: false,
            login_window_secs: 15 * 60,
            login_lockout_secs: 15 * 60,
            field_key: Secret::default(),
            field_keys_previous: Secret::default(),
            sync_max_mutations: 500,
            sync_max_page: 2000,
            tombstone_retention_days: 90,
            publicity_working_days: 7,
            follow_up_months: "1,3,6".into(),
            initial_review_working_days: 7,
            reapply_wait_days: 30,
            visit_interval_days: 90,
            six_clears_stale_days: 180,
            visit_gps_far_m: 500,
            visit_min_minutes: 5,
            console_idle_minutes: 30,
            console_session_hours: 12,
            console_secure_cookies: false,
            visit_tasks: true,
            match_tasks_per_person: 3,
            match_task_min_score: 50,
            subsidy_levels: "station=station,street=street,district=district".into(),
            subsidy_period_years: 3,
            subsidy_extended_within_years: 5,
            public_welfare_monthly_yuan: 2030,
            flexible_pension_monthly_yuan: 600,
            flexible_medical_monthly_yuan: 250,
            flexible_unemployment_monthly_yuan: 0,
            minimum_wage_yuan: 2030,
            average_wage_yuan: 9000,
            women_retirement_public_welfare: "women_50".into(),
            women_retirement_flexible: "women_55".into(),
            holidays: String::new(),
            extra_workdays: String::new(),
            shared_evidence_types: String::new(),
            utc_offset_minutes: 480,
            admin_password: Secret::default(),
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            workers: 0,
        }
    }
}

fn comma_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_dates(text: &str) -> Result<BTreeSet<NaiveDate>, String> {
    comma_list(text)
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| format!("`{d}` is not a date (YYYY-MM-DD)"))
        })
        .collect()
}

fn parse_months(text: &str) -> Result<Months, String> {
    let last = Months::LAST;
    let months = comma_list(text)
        .map(|t| match t.parse::<u32>() {
            Ok(m) if (1..=last).contains(&m) => Ok(m),
            _ => Err(format!("`{t}` is not a number of months from 1 to {last}")),
        })
        .collect::<Result<Vec<u32>, String>>()?;
    Months::new(&months).ok_or_else(|| format!("months run from 1 to {last}"))
}

/// `level=kind` pairs naming an org-node kind for each subsidy level, each level once.
fn parse_levels(text: &str) -> Result<Vec<(Level, OrgKind)>, String> {
    let pairs = comma_list(text)
        .map(|pair| {
            let (level, kind) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not level=kind"))?;
            let level: Level = level.trim().parse().map_err(|_| {
                format!(
                    "`{}` is not a level (station, street, district)",
                    level.trim()
                )
            })?;
            let kind: OrgKind = kind
                .trim()
                .parse()
                .map_err(|_| format!("`{}` is not an org-node kind", kind.trim()))?;
            Ok((level, kind))
        })
        .collect::<Result<Vec<_>, String>>()?;
    for level in Level::ALL {
        match pairs.iter().filter(|(l, _)| l == level).count() {
            1 => {}
            0 => return Err(format!("names no kind for the level `{level}`")),
            _ => return Err(format!("names the level `{level}` twice")),
        }
    }
    Ok(pairs)
}

/// A women's retirement base for the subsidies: `women_50` or `women_55`.
fn parse_women_base(text: &str) -> Result<RetirementBase, String> {
    match text.trim().parse() {
        Ok(base @ (RetirementBase::Women50 | RetirementBase::Women55)) => Ok(base),
        _ => Err("must be women_50 or women_55".into()),
    }
}

fn parse_evidence_types(text: &str) -> Result<Vec<EvidenceType>, String> {
    comma_list(text)
        .map(|t| {
            t.parse()
                .map_err(|e: liuqing_schema::text_enum::UnknownVariant| e.to_string())
        })
        .collect()
}

/// A setting that cannot be used, named.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid setting `{setting}`: {reason}")]
pub struct ConfigError {
    pub setting: String,
    pub reason: String,
}

fn invalid(setting: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.into(),
        reason: reason.into(),
    }
}

impl Config {
    /// Loads the layers from the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Loads the layers with an explicit environment (tests pass their own).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let defaults = default_table();
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| invalid("--config", format!("{}: {e}", path.display())))?;
            let table: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| invalid("--config", e.message().to_string()))?;
            if let Some(unknown) = table.keys().find(|k| !defaults.contains_key(*k)) {
                return Err(invalid(unknown, "no such setting"));
            }
            figment = figment.merge(Toml::string(&text));
        }
        // Environment values are strings; each is read as the type of its default, so a
        // numeric password stays a string and a bad number is named.
        let mut from_env = toml::Table::new();
        let mut plain_database_url = None;
        for (name, value) in env {
            if name == "DATABASE_URL" {
                plain_database_url = Some(value);
                continue;
            }
            let Some(key) = name.strip_prefix("LIUQING_").map(str::to_ascii_lowercase) else {
                continue;
            };
            let Some(default) = defaults.get(&key) else {
                continue;
            };
            let typed = match default {
                toml::Value::Integer(_) => value
                    .trim()
                    .parse()
                    .map(toml::Value::Integer)
                    .map_err(|_| invalid(&key, "must be a whole number"))?,
                toml::Value::Boolean(_) => match value.trim() {
                    "true" | "1" | "yes" => toml::Value::Boolean(true),
                    "false" | "0" | "no" => toml::Value::Boolean(false),
                    _ => return Err(invalid(&key, "must be true or false")),
                },
                _ => toml::Value::String(value),
            };
            from_env.insert(key, typed);
        }
        if let Some(url) = plain_database_url {
            from_env
                .entry("database_url")
                .or_insert(toml::Value::String(url));
        }
        figment = figment.merge(Serialized::defaults(EnvLayer(from_env)));
        let config: Config = figment.extract().map_err(|e| {
            let setting = e.path.last().cloned().unwrap_or_else(|| "config".into());
            invalid(&setting, e.kind.to_string())
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: addresses, URLs, ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.bind
            .parse::<SocketAddr>()
            .map_err(|_| invalid("bind", "must be an address and port, e.g. 127.0.0.1:8080"))?;
        self.backend()?;
        if self.database_pool_size == 0 {
            return Err(invalid("database_pool_size", "must be at least 1"));
        }
        if self.blob_store == BlobStoreKind::S3 {
            for (name, value) in [
                ("s3_endpoint", &self.s3_endpoint),
                ("s3_bucket", &self.s3_bucket),
                ("s3_region", &self.s3_region),
            ] {
                if value.trim().is_empty() {
                    return Err(invalid(name, "is required when blob_store = \"s3\""));
                }
            }
            if !self.s3_endpoint.starts_with("http://") && !self.s3_endpoint.starts_with("https://")
            {
                return Err(invalid(
                    "s3_endpoint",
                    "must start with http:// or https://",
                ));
            }
        }
        if !self.jwt_secret.expose().is_empty() && self.jwt_secret.expose().len() < 32 {
            return Err(invalid("jwt_secret", "must be at least 32 bytes"));
        }
        for (name, value) in [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            ("login_window_secs", self.login_window_secs),
            ("login_lockout_secs", self.login_lockout_secs),
        ] {
            if value == 0 {
                return Err(invalid(name, "must be greater than 0"));
            }
        }
        for (name, value) in [
            ("login_max_failures", self.login_max_failures),
            (
                "login_max_failures_per_user",
                self.login_max_failures_per_user,
            ),
            (
                "login_max_failures_per_source",
                self.login_max_failures_per_source,
            ),
            ("login_max_waiting", self.login_max_waiting),
            ("max_open_uploads_per_user", self.max_open_uploads_per_user),
            ("lookup_max_per_hour", self.lookup_max_per_hour),
        ] {
            if value == 0 {
                return Err(invalid(name, "must be greater than 0"));
            }
        }
        if self.max_json_body_bytes < 1024 {
            return Err(invalid("max_json_body_bytes", "must be at least 1024"));
        }
        if !(512..=self.max_json_body_bytes).contains(&self.max_public_body_bytes) {
            return Err(invalid(
                "max_public_body_bytes",
                "must be from 512 to max_json_body_bytes",
            ));
        }
        if !(1..=3600).contains(&self.body_read_timeout_secs) {
            return Err(invalid("body_read_timeout_secs", "must be from 1 to 3600"));
        }
        if self.max_upload_bytes < 1024 {
            return Err(invalid("max_upload_bytes", "must be at least 1024"));
        }
        for (name, value) in [
            ("image_max_width", u64::from(self.image_max_width)),
            ("image_max_height", u64::from(self.image_max_height)),
            ("image_max_pixels", self.image_max_pixels),
            ("image_max_alloc_bytes", self.image_max_alloc_bytes),
            ("upload_expiry_hours", self.upload_expiry_hours),
        ] {
            if value == 0 {
                return Err(invalid(name, "must be greater than 0"));
            }
        }
        if self.image_max_width > u32::from(u16::MAX) || self.image_max_height > u32::from(u16::MAX)
        {
            return Err(invalid(
                "image_max_width",
                "JPEG cannot exceed 65535 pixels a side",
            ));
        }
        if !self.field_key.expose().is_empty() {
            liuqing_schema::crypto::parse_key(self.field_key.expose())
                .map_err(|e| invalid("field_key", e.to_string()))?;
        }
        for key in self.previous_field_keys_text() {
            liuqing_schema::crypto::parse_key(key)
                .map_err(|e| invalid("field_keys_previous", e.to_string()))?;
        }
        if self.sync_max_mutations == 0 || self.sync_max_page <= 0 {
            return Err(invalid(
                "sync_max_page",
                "sync limits must be greater than 0",
            ));
        }
        if self.image_max_concurrent_decodes == 0 {
            return Err(invalid(
                "image_max_concurrent_decodes",
                "must be at least 1",
            ));
        }
        if self.publicity_working_days == 0 || self.publicity_working_days > 60 {
            return Err(invalid("publicity_working_days", "must be 1 to 60"));
        }
        if self.initial_review_working_days == 0 || self.initial_review_working_days > 60 {
            return Err(invalid("initial_review_working_days", "must be 1 to 60"));
        }
        for (name, value, most) in [
            ("visit_interval_days", self.visit_interval_days, 3660),
            ("six_clears_stale_days", self.six_clears_stale_days, 3660),
            ("visit_gps_far_m", self.visit_gps_far_m, 100_000),
            ("visit_min_minutes", self.visit_min_minutes, 600),
            ("console_idle_minutes", self.console_idle_minutes, 24 * 60),
            ("console_session_hours", self.console_session_hours, 7 * 24),
        ] {
            if value == 0 || value > most {
                return Err(invalid(name, format!("must be 1 to {most}")));
            }
        }
        for (name, text) in [
            ("holidays", &self.holidays),
            ("extra_workdays", &self.extra_workdays),
        ] {
            parse_dates(text).map_err(|reason| invalid(name, reason))?;
        }
        if self.match_tasks_per_person > 10 {
            return Err(invalid("match_tasks_per_person", "must be 0 to 10"));
        }
        let most = liuqing_schema::domain::matching::MAX_SCORE;
        if self.match_task_min_score > most {
            return Err(invalid(
                "match_task_min_score",
                format!("must be 0 to {most}"),
            ));
        }
        parse_evidence_types(&self.shared_evidence_types)
            .map_err(|reason| invalid("shared_evidence_types", reason))?;
        parse_levels(&self.subsidy_levels).map_err(|reason| invalid("subsidy_levels", reason))?;
        if !(1..=20).contains(&self.subsidy_period_years) {
            return Err(invalid("subsidy_period_years", "must be 1 to 20"));
        }
        if self.subsidy_extended_within_years > 20 {
            return Err(invalid("subsidy_extended_within_years", "must be 0 to 20"));
        }
        for (name, yuan) in [
            (
                "public_welfare_monthly_yuan",
                self.public_welfare_monthly_yuan,
            ),
            (
                "flexible_pension_monthly_yuan",
                self.flexible_pension_monthly_yuan,
            ),
            (
                "flexible_medical_monthly_yuan",
                self.flexible_medical_monthly_yuan,
            ),
            (
                "flexible_unemployment_monthly_yuan",
                self.flexible_unemployment_monthly_yuan,
            ),
            ("minimum_wage_yuan", self.minimum_wage_yuan),
            ("average_wage_yuan", self.average_wage_yuan),
        ] {
            if yuan > 1_000_000 {
                return Err(invalid(name, "must be at most 1000000 yuan"));
            }
        }
        for (name, text) in [
            (
                "women_retirement_public_welfare",
                &self.women_retirement_public_welfare,
            ),
            ("women_retirement_flexible", &self.women_retirement_flexible),
        ] {
            parse_women_base(text).map_err(|reason| invalid(name, reason))?;
        }
        parse_months(&self.follow_up_months)
            .map_err(|reason| invalid("follow_up_months", reason))?;
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return Err(invalid(
                "utc_offset_minutes",
                "must be between -840 and 840",
            ));
        }
        if !self.admin_password.expose().is_empty() && self.admin_password.expose().len() < 10 {
            return Err(invalid("admin_password", "must be at least 10 characters"));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .map_err(|e| invalid("log_level", e.to_string()))?;
        Ok(())
    }

    fn previous_field_keys_text(&self) -> impl Iterator<Item = &str> {
        self.field_keys_previous
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
    }

    /// The earlier field keys, parsed (validated at load).
    pub fn previous_field_keys(&self) -> Vec<[u8; 32]> {
        self.previous_field_keys_text()
            .filter_map(|k| liuqing_schema::crypto::parse_key(k).ok())
            .collect()
    }

    /// The working-day calendar (validated at load).
    pub fn calendar(&self) -> WorkCalendar {
        WorkCalendar {
            holidays: parse_dates(&self.holidays).unwrap_or_default(),
            extra_workdays: parse_dates(&self.extra_workdays).unwrap_or_default(),
        }
    }

    /// Months after a placement when follow-ups are due (validated at load).
    pub fn follow_ups(&self) -> Months {
        parse_months(&self.follow_up_months).unwrap_or_default()
    }

    /// Evidence available by data sharing (validated at load).
    pub fn shared_evidence(&self) -> Vec<EvidenceType> {
        parse_evidence_types(&self.shared_evidence_types).unwrap_or_default()
    }

    /// Today at the stations.
    pub fn today(&self) -> NaiveDate {
        self.day_at(liuqing_schema::time::now_micros())
    }

    /// The stations' day at the instant `at` (a request's timestamp: every part of its
    /// work then agrees on the day, even across midnight).
    pub fn day_at(&self, at: liuqing_schema::time::Micros) -> NaiveDate {
        self.sync_settings().day_at(at)
    }

    /// What the sync engine reads of the settings on every write.
    /// What the coverage reports read.
    pub fn coverage_settings(&self) -> liuqing_schema::coverage::Settings {
        liuqing_schema::coverage::Settings {
            utc_offset_minutes: self.utc_offset_minutes,
            visit_interval_days: self.visit_interval_days,
            six_clears_stale_days: self.six_clears_stale_days,
            flags: liuqing_schema::domain::visit_flags::Thresholds {
                far_m: f64::from(self.visit_gps_far_m),
                min_minutes: i64::from(self.visit_min_minutes),
            },
        }
    }

    pub fn sync_settings(&self) -> liuqing_sync::writer::Settings {
        liuqing_sync::writer::Settings {
            utc_offset_minutes: self.utc_offset_minutes,
            max_skew_ms: self.max_clock_skew_secs.saturating_mul(1000),
            reapply_wait_days: self.reapply_wait_days,
            follow_up_months: self.follow_ups(),
        }
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind
            .parse()
            .map_err(|_| invalid("bind", "must be an address and port"))
    }

    /// The database backend, defaulting to SQLite in the data folder.
    pub fn backend(&self) -> Result<Backend, ConfigError> {
        if self.database_url.trim().is_empty() {
            return Ok(Backend::Sqlite(self.data_dir.join("liuqing.db")));
        }
        Backend::from_url(&self.database_url).map_err(|reason| invalid("database_url", reason))
    }

    /// Where resumable uploads are staged until they are finished.
    pub fn staging_path(&self) -> PathBuf {
        self.data_dir.join("staging")
    }

    /// The org-node kind whose users take a subsidy level's steps.
    pub fn subsidy_level_kind(&self, level: Level) -> OrgKind {
        parse_levels(&self.subsidy_levels)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(l, _)| *l == level))
            .map_or(
                match level {
                    Level::Station => OrgKind::Station,
                    Level::Street => OrgKind::Street,
                    Level::District => OrgKind::District,
                },
                |(_, kind)| kind,
            )
    }

    /// The deployment's subsidy figures, in fen.
    pub fn subsidy_standards(&self) -> Standards {
        let fen = |yuan: u32| Fen(i64::from(yuan) * 100);
        let capped = |yuan: u32| (yuan > 0).then(|| fen(yuan));
        Standards {
            period: PeriodRule {
                years: self.subsidy_period_years,
                extended_within_years: self.subsidy_extended_within_years,
            },
            public_welfare_monthly: fen(self.public_welfare_monthly_yuan),
            pension_monthly: capped(self.flexible_pension_monthly_yuan),
            medical_monthly: capped(self.flexible_medical_monthly_yuan),
            unemployment_monthly: capped(self.flexible_unemployment_monthly_yuan),
            thresholds: Thresholds {
                minimum_wage: fen(self.minimum_wage_yuan),
                average_wage: fen(self.average_wage_yuan),
            },
            women_public_welfare: parse_women_base(&self.women_retirement_public_welfare)
                .unwrap_or(RetirementBase::Women50),
            women_flexible: parse_women_base(&self.women_retirement_flexible)
                .unwrap_or(RetirementBase::Women55),
        }
    }

    pub fn image_limits(&self) -> crate::media::Limits {
        crate::media::Limits {
            max_width: self.image_max_width,
            max_height: self.image_max_height,
            max_pixels: self.image_max_pixels,
            max_alloc: self.image_max_alloc_bytes,
        }
    }

    pub fn blob_path(&self) -> PathBuf {
        if self.blob_dir.trim().is_empty() {
            self.data_dir.join("blobs")
        } else {
            PathBuf::from(&self.blob_dir)
        }
    }
}

/// Wraps the environment table so figment can merge it as one more layer.
#[derive(Serialize)]
#[serde(transparent)]
struct EnvLayer(toml::Table);

/// The settings and their default values, taken from the struct so they never drift.
fn default_table() -> toml::Table {
    match toml::Value::try_from(Config::default()) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The stations' day of an instant, at their UTC offset (China: +8 h, the default).
    #[test]
    fn the_day_of_an_instant_is_the_stations_day() {
        let c = Config::default();
        let at = |rfc3339: &str| {
            chrono::DateTime::parse_from_rfc3339(rfc3339)
                .expect("an instant")
                .timestamp_micros()
        };
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a day");
        assert_eq!(
            c.day_at(at("2026-11-27T15:59:59.999999Z")),
            day("2026-11-27")
        );
        assert_eq!(c.day_at(at("2026-11-27T16:00:00Z")), day("2026-11-28"));
    }

    #[test]
    fn subsidy_settings_are_checked_and_give_the_standards_in_fen() {
        let c = Config::load_from(None, env(&[])).expect("defaults are valid");
        assert_eq!(c.subsidy_level_kind(Level::Street), OrgKind::Street);
        let s = c.subsidy_standards();
        assert_eq!(s.public_welfare_monthly, Fen(203_000));
        assert_eq!(s.unemployment_monthly, None, "0 yuan: not subsidised");
        assert_eq!(s.women_flexible, RetirementBase::Women55);
        // A deployment whose street centres do the district's approval.
        let c = Config::load_from(
            None,
            env(&[(
                "LIUQING_SUBSIDY_LEVELS",
                "station=station, street=street, district=street",
            )]),
        )
        .expect("valid");
        assert_eq!(c.subsidy_level_kind(Level::District), OrgKind::Street);
        for (key, value, says) in [
            (
                "LIUQING_SUBSIDY_LEVELS",
                "station=station,street=street",
                "`district`",
            ),
            (
                "LIUQING_SUBSIDY_LEVELS",
                "station=station,station=street,district=district",
                "twice",
            ),
            (
                "LIUQING_SUBSIDY_LEVELS",
                "station=town,street=street,district=district",
                "`town`",
            ),
            ("LIUQING_SUBSIDY_PERIOD_YEARS", "0", "1 to 20"),
            ("LIUQING_MINIMUM_WAGE_YUAN", "2000000", "at most"),
            (
                "LIUQING_WOMEN_RETIREMENT_FLEXIBLE",
                "men_60",
                "women_50 or women_55",
            ),
        ] {
            let err = Config::load_from(None, env(&[(key, value)]))
                .expect_err(key)
                .to_string();
            assert!(err.contains(says), "{key}={value}: {err}");
        }
    }

    #[test]
    fn defaults_start_on_sqlite_in_the_data_folder() {
        let c = Config::load_from(None, env(&[])).expect("defaults are valid");
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(
            c.backend().expect("backend"),
            Backend::Sqlite(PathBuf::from("./data/liuqing.db"))
        );
        assert_eq!(c.blob_path(), PathBuf::from("./data/blobs"));
    }

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        let dir = tempfile_dir();
        let file = dir.join("liuqing.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9000\"\naccess_token_ttl_secs = 60\n",
        )
        .expect("write");
        let c = Config::load_from(
            Some(&file),
            env(&[("LIUQING_ACCESS_TOKEN_TTL_SECS", "120")]),
        )
        .expect("valid");
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.access_token_ttl_secs, 120);
    }

    #[test]
    fn numeric_secrets_stay_strings() {
        let c = Config::load_from(None, env(&[("LIUQING_ADMIN_PASSWORD", "12345678901234")]))
            .expect("valid");
        assert_eq!(c.admin_password.expose(), "12345678901234");
    }

    #[test]
    fn plain_database_url_is_read_but_liuqing_wins() {
        let c =
            Config::load_from(None, env(&[("DATABASE_URL", "postgres://a@b/c")])).expect("valid");
        assert_eq!(c.backend().expect("pg").name(), "postgres");
        let c = Config::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://a@b/c"),
                ("LIUQING_DATABASE_URL", "/tmp/x.db"),
            ]),
        )
        .expect("valid");
        assert_eq!(c.backend().expect("sqlite").name(), "sqlite");
    }

    #[test]
    fn bad_settings_are_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("LIUQING_BIND", "nowhere")], "bind"),
            (&[("LIUQING_DATABASE_URL", "mysql://x/y")], "database_url"),
            (
                &[("LIUQING_ACCESS_TOKEN_TTL_SECS", "soon")],
                "access_token_ttl_secs",
            ),
            (
                &[("LIUQING_ACCESS_TOKEN_TTL_SECS", "0")],
                "access_token_ttl_secs",
            ),
            (&[("LIUQING_BLOB_STORE", "ftp")], "blob_store"),
            (&[("LIUQING_BLOB_STORE", "s3")], "s3_endpoint"),
            (&[("LIUQING_JWT_SECRET", "short")], "jwt_secret"),
            (&[("LIUQING_S3_PATH_STYLE", "maybe")], "s3_path_style"),
        ];
        for (vars, setting) in cases {
            let err = Config::load_from(None, env(vars)).expect_err("invalid");
            assert_eq!(err.setting, *setting, "{vars:?}: {err}");
        }
    }

    #[test]
    fn unknown_keys_in_the_file_are_named() {
        let dir = tempfile_dir();
        let file = dir.join("liuqing.toml");
        std::fs::write(&file, "bnid = \"0.0.0.0:9000\"\n").expect("write");
        let err = Config::load_from(Some(&file), env(&[])).expect_err("typo");
        assert_eq!(err.setting, "bnid");
    }

    #[test]
    fn secrets_are_never_printed() {
        let c = Config::load_from(
            None,
            env(&[(
                "LIUQING_JWT_SECRET",
                "0123456789abcdef0123456789abcdef-secret",
            )]),
        )
        .expect("valid");
        assert!(!format!("{c:?}").contains("secret\""));
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("liuqing-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }
}
