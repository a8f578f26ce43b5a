//! `liuqing-loadgen`: runs the reference phone client (`liuqing_sync::client`) as many
//! phones against a running server and prints throughput and latency per phase.
//!
//! The standard workload (the defaults): 2,000 households with 3 persons each, every person
//! with a full six-clears record, created in pushes of 100 by several phones at once; an
//! initial pull of the whole scope by a fresh phone; 10,000 field edits from several phones
//! in pushes of 100, 5% of them on a field another phone also changed (each such pair must
//! leave a conflict record); a delta pull of what the edits changed.
//!
//! It starts the server itself (the `liuqing` binary next to this one, on a free port, with
//! a fresh data folder; SQLite, or `--database-url` for PostgreSQL) or attaches to `--url`.
//! See BENCHMARKS.md for the figures and how to rerun them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use liuqing_sync::client::Client;
use liuqing_sync::protocol::{MutationResult, PullPage, Status};
use reqwest::Method;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "liuqing-loadgen",
    about = "Load generator for the Liuqing sync API"
)]
struct Args {
    /// Attach to a running server instead of starting one (needs LIUQING_ADMIN_PASSWORD).
    #[arg(long)]
    url: Option<String>,
    /// The server binary to start (default: `liuqing` next to this program).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// PostgreSQL for the started server. The database is dropped and created again before
    /// each run, so its name must contain `bench`.
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long, default_value_t = 2000)]
    households: usize,
    #[arg(long, default_value_t = 3)]
    persons_per_household: usize,
    #[arg(long, default_value_t = 10_000)]
    edits: usize,
    /// Share of the edits that touch a field another phone also changed.
    #[arg(long, default_value_t = 0.05)]
    overlap: f64,
    /// Phones creating and editing at the same time.
    #[arg(long, default_value_t = 4)]
    devices: usize,
    #[arg(long, default_value_t = 4)]
    communities: usize,
    /// Mutations per push.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Records per pull page.
    #[arg(long, default_value_t = 1000)]
    page: i64,
    /// Whole runs, each on a fresh server when it starts one; the summary is the median.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The started server's log level (its log goes to a file in its data folder).
    #[arg(long, default_value = "warn")]
    server_log_level: String,
    /// Exit with status 1 when a target is missed (the targets are for the standard workload).
    #[arg(long)]
    check_targets: bool,
}

// The server's allocator, so the generator's own share of the two cores is the smaller.
#[global_allocator]
static ALLOCATOR: liuqing_api::Allocator = liuqing_api::Allocator;

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("liuqing-loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_all(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("liuqing-loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------
// Figures

/// One phase's measurements.
#[derive(Debug, Clone, Default)]
struct Phase {
    items: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    /// CPU time the server spent in the phase (when this program started it).
    server_cpu: Option<Duration>,
    /// CPU time this program (the phones) spent in the phase: it shares the cores.
    generator_cpu: Option<Duration>,
}

impl Phase {
    fn per_sec(&self) -> f64 {
        self.items as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        // Nearest rank.
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

#[derive(Debug, Clone, Default)]
struct RunFigures {
    create: Phase,
    initial_pull: Phase,
    edits: Phase,
    delta_pull: Phase,
    pairs: usize,
    pairs_with_conflict: usize,
    conflicts_listed: Option<usize>,
    unexpected_conflicts: usize,
    rejected: usize,
    peak_rss_kib: Option<u64>,
    /// The peak when the setup (users, logins: argon2) was done, before the sync phases.
    setup_rss_kib: Option<u64>,
}

const PHASES: [(&str, &str, f64); 4] = [
    ("create", "records/s", 25_000.0),
    ("initial pull", "records/s", 50_000.0),
    ("edits", "edits/s", 20_000.0),
    ("delta pull", "records/s", 50_000.0),
];
const RSS_TARGET_MIB: f64 = 200.0;

impl RunFigures {
    fn phases(&self) -> [&Phase; 4] {
        [
            &self.create,
            &self.initial_pull,
            &self.edits,
            &self.delta_pull,
        ]
    }

    fn print(&self) {
        println!(
            "  {:<13} {:>8} {:>9} {:>14}   {:>8} {:>8} {:>8}  {:>10}  {:>10}",
            "phase",
            "items",
            "wall s",
            "throughput",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "server cpu",
            "phones cpu"
        );
        for ((name, unit, _), p) in PHASES.iter().zip(self.phases()) {
            println!(
                "  {:<13} {:>8} {:>9.3} {:>9.0} {:<9} {:>8.1} {:>8.1} {:>8.1}  {:>10}  {:>10}",
                name,
                p.items,
                p.wall.as_secs_f64(),
                p.per_sec(),
                unit,
                ms(p.percentile(50.0)),
                ms(p.percentile(95.0)),
                ms(p.percentile(99.0)),
                seconds(p.server_cpu),
                seconds(p.generator_cpu),
            );
        }
        println!(
            "  conflicts: {} of {} overlapping pairs answered merged/conflict; {} listed by \
             /v1/sync/conflicts; {} unexpected; {} rejected mutations",
            self.pairs_with_conflict,
            self.pairs,
            self.conflicts_listed
                .map_or("(not checked)".to_string(), |n| n.to_string()),
            self.unexpected_conflicts,
            self.rejected,
        );
        match self.peak_rss_kib {
            Some(k) => println!(
                "  server peak RSS (VmHWM): {:.1} MiB ({} MiB when the setup's logins were done)",
                k as f64 / 1024.0,
                self.setup_rss_kib
                    .map_or("?".to_string(), |s| format!("{:.1}", s as f64 / 1024.0))
            ),
            None => println!("  server peak RSS: unknown (attached to --url)"),
        }
    }

    /// Every overlap recorded, nothing else conflicting, nothing refused.
    fn correct(&self) -> bool {
        self.pairs_with_conflict == self.pairs
            && self.conflicts_listed.is_none_or(|n| n == self.pairs)
            && self.unexpected_conflicts == 0
            && self.rejected == 0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

async fn run_all(args: &Args) -> Result<bool> {
    if args.devices < 2 {
        bail!("--devices must be at least 2 (overlapping edits need two phones)");
    }
    if args.batch == 0 || args.page < 1 || args.runs == 0 || args.communities == 0 {
        bail!("--batch, --page, --runs and --communities must be positive");
    }
    println!(
        "workload: {} households x {} persons (+ six_clears), {} edits ({:.0}% overlapping) \
         from {} devices, pushes of {}, pull pages of {}",
        args.households,
        args.persons_per_household,
        args.edits,
        args.overlap * 100.0,
        args.devices,
        args.batch,
        args.page
    );
    let mut runs = Vec::new();
    for run in 0..args.runs {
        println!("run {} of {}", run + 1, args.runs);
        let figures = match &args.url {
            Some(url) => {
                let password = std::env::var("LIUQING_ADMIN_PASSWORD")
                    .context("attaching with --url needs LIUQING_ADMIN_PASSWORD")?;
                workload(args, url, &password, run as u64, None).await?
            }
            None => {
                let server = Server::start(args)?;
                let pid = server.child.id();
                let mut figures =
                    workload(args, &server.base, ADMIN_PASSWORD, run as u64, Some(pid)).await;
                if let Ok(f) = &mut figures {
                    f.peak_rss_kib = server.peak_rss_kib();
                }
                drop(server);
                figures?
            }
        };
        figures.print();
        runs.push(figures);
    }
    let mut ok = runs.iter().all(RunFigures::correct);
    if !ok {
        println!("CHECK FAILED: an overlap without its conflict record, or a rejected mutation");
    }
    println!("median of {} run(s):", runs.len());
    for (i, (name, unit, target)) in PHASES.iter().enumerate() {
        let rate = median(runs.iter().map(|r| r.phases()[i].per_sec()).collect());
        let p99 = median(
            runs.iter()
                .map(|r| ms(r.phases()[i].percentile(99.0)))
                .collect(),
        );
        let p50 = median(
            runs.iter()
                .map(|r| ms(r.phases()[i].percentile(50.0)))
                .collect(),
        );
        let met = rate >= *target;
        ok &= met || !args.check_targets;
        println!(
            "  {name:<13} {rate:>9.0} {unit:<9} p50 {p50:>7.1} ms  p99 {p99:>7.1} ms   \
             target {target:>6.0}: {}",
            if met { "met" } else { "MISSED" }
        );
    }
    let rss: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.peak_rss_kib)
        .map(|k| k as f64 / 1024.0)
        .collect();
    if !rss.is_empty() {
        let peak = median(rss);
        let met = peak < RSS_TARGET_MIB;
        ok &= met || !args.check_targets;
        println!(
            "  server peak RSS {peak:.1} MiB   target < {RSS_TARGET_MIB:.0} MiB: {}",
            if met { "met" } else { "MISSED" }
        );
    }
    Ok(ok)
}

// ---------------------------------------------------------------------------------------
// The server

const ADMIN_PASSWORD: &str = "load generator admin password";
const PASSWORD: &str = "load generator password 1";

/// A server this program started: killed when dropped.
struct Server {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Server {
    fn start(args: &Args) -> Result<Server> {
        let bin = match &args.server_bin {
            Some(b) => b.clone(),
            None => default_server_bin()?,
        };
        let data = tempfile::tempdir().context("temp data folder")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("free port")?
            .port();
        let log = std::fs::File::create(data.path().join("server.log")).context("server log")?;
        let mut cmd = Command::new(&bin);
        // Only what this program sets: a developer's LIUQING_* must not change the figures.
        for (name, _) in std::env::vars() {
            if name.starts_with("LIUQING_") || name == "DATABASE_URL" {
                cmd.env_remove(name);
            }
        }
        cmd.env("LIUQING_DATA_DIR", data.path())
            .env("LIUQING_BIND", format!("127.0.0.1:{port}"))
            .env("LIUQING_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LIUQING_LOG_FORMAT", "json")
            .env("LIUQING_LOG_LEVEL", &args.server_log_level)
            // A run must not outlive its tokens; phones refresh, the generator need not.
            .env("LIUQING_ACCESS_TOKEN_TTL_SECS", "86400")
            // A district's enrolment in minutes, by a few users: every person pushed with an
            // ID number spends the lookup allowance, which is sized for a person's day.
            .env("LIUQING_LOOKUP_MAX_PER_HOUR", "1000000000")
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("server log")?)
            .stderr(log);
        if let Some(url) = &args.database_url {
            recreate_postgres(url)?;
            cmd.env("LIUQING_DATABASE_URL", url);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _data: data,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let addr = self.base.trim_start_matches("http://").to_string();
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(self._data.path().join("server.log"))
                    .unwrap_or_default();
                bail!("the server exited ({status}):\n{log}");
            }
            if std::net::TcpStream::connect(&addr).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the server did not listen within 120 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's peak resident memory, from the kernel (`VmHWM`).
    fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss(self.child.id())
    }
}

/// A process's peak resident memory so far (`VmHWM`), in KiB.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

impl Drop for Server {
    fn drop(&mut self) {
        // Best effort: the process may have exited already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn seconds(cpu: Option<Duration>) -> String {
    cpu.map_or("-".to_string(), |c| format!("{:.2} s", c.as_secs_f64()))
}

/// A process's CPU time so far (user + system), from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Counted after the command name (which may hold spaces): utime and stime are the
    // 14th and 15th fields, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// `liuqing` built beside this program (the build command in BENCHMARKS.md puts both in
/// target/release).
fn default_server_bin() -> Result<PathBuf> {
    let me = std::env::current_exe().context("own path")?;
    let dir = me.parent().unwrap_or(Path::new("."));
    for name in ["liuqing", "liuqing-e2e-server"] {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "no `liuqing` binary in {}; build it (cargo build --release -p liuqing-api) or pass --server-bin",
        dir.display()
    )
}

/// Drops and creates the benchmark database, so every run starts empty.
fn recreate_postgres(url: &str) -> Result<()> {
    use diesel::{Connection, RunQueryDsl};
    let (base, name) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("--database-url must end with /<database>"))?;
    let name = name.split('?').next().unwrap_or(name);
    if !name.contains("bench") || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("the benchmark database is dropped before each run: its name must contain `bench` (and only letters, digits, _), not `{name}`");
    }
    let mut conn = diesel::pg::PgConnection::establish(&format!("{base}/postgres"))
        .context("connecting to the `postgres` database to recreate the benchmark one")?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .context("dropping the benchmark database")?;
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .context("creating the benchmark database")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// HTTP

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// A request and its answer's status and bytes.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>)> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("sending {path}"))?;
        let status = res.status().as_u16();
        let bytes = res.bytes().await.context("reading the answer")?;
        Ok((status, bytes.to_vec()))
    }

    /// A sync call that must answer 200, read straight into its type (as a phone would:
    /// the generator's own work counts in the figures).
    async fn typed<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let (status, bytes) = self.raw(method, path, Some(token), body).await?;
        if status != 200 {
            bail!(
                "{path} answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        serde_json::from_slice(&bytes).with_context(|| format!("reading the answer to {path}"))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let (status, bytes) = self.raw(method, path, token, body).await?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Ok((status, body))
    }

    /// A call that must answer `expect`; anything else stops the run with the answer.
    async fn expect(
        &self,
        expect: u16,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value> {
        let (status, body) = self.call(method, path, token, body).await?;
        if status != expect {
            bail!("{path} answered {status}, expected {expect}: {body}");
        }
        Ok(body)
    }

    async fn login(&self, username: &str, password: &str, device_id: &str) -> Result<String> {
        let body = json!({
            "username": username, "password": password,
            "device": { "id": device_id, "name": "load generator", "platform": "android" },
        });
        let r = self
            .expect(200, Method::POST, "/v1/auth/login", None, Some(&body))
            .await?;
        r["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("login answered no access_token"))
    }

    async fn node(
        &self,
        admin: &str,
        parent: Option<&str>,
        kind: &str,
        name: &str,
    ) -> Result<String> {
        let body = json!({ "parent_id": parent, "kind": kind, "name": name });
        let r = self
            .expect(
                201,
                Method::POST,
                "/v1/admin/org/nodes",
                Some(admin),
                Some(&body),
            )
            .await?;
        r["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("org node answered no id"))
    }

    /// A user bound to `nodes`, past the first-login password change, logged in on a new
    /// device: a phone ready to sync.
    async fn phone(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        nodes: &[String],
    ) -> Result<Phone> {
        let body = json!({
            "username": username, "display_name": username, "password": "initial password 1",
            "role": role, "org_node_ids": nodes,
        });
        self.expect(
            201,
            Method::POST,
            "/v1/admin/users",
            Some(admin),
            Some(&body),
        )
        .await?;
        let device = uuid::Uuid::now_v7().to_string();
        let token = self.login(username, "initial password 1", &device).await?;
        let body = json!({ "current_password": "initial password 1", "new_password": PASSWORD });
        self.expect(
            204,
            Method::POST,
            "/v1/auth/password",
            Some(&token),
            Some(&body),
        )
        .await?;
        Ok(Phone {
            api: self.clone(),
            token,
            client: Client::new(device),
        })
    }
}

#[derive(serde::Deserialize)]
struct PushAnswer {
    results: Vec<MutationResult>,
}

/// One phone: its session and its reference client.
struct Phone {
    api: Api,
    token: String,
    client: Client,
}

impl Phone {
    /// Pushes the outbox (at most one batch); returns the answers and the request's time.
    async fn push(&mut self) -> Result<(Vec<MutationResult>, Duration)> {
        let body = self.client.push_body();
        let started = Instant::now();
        let answer: PushAnswer = self
            .api
            .typed(Method::POST, "/v1/sync/push", &self.token, Some(&body))
            .await?;
        let took = started.elapsed();
        let results = answer.results;
        self.client.on_pushed(&results);
        Ok((results, took))
    }

    /// Pulls until the client is up to date; returns the records received and each page's time.
    async fn pull(&mut self, limit: i64) -> Result<(usize, Vec<Duration>)> {
        let mut records = 0;
        let mut times = Vec::new();
        let mut drifted = false;
        loop {
            let path = format!("/v1/sync/pull?{}", self.client.pull_query(limit));
            let started = Instant::now();
            let page: PullPage = self
                .api
                .typed(Method::GET, &path, &self.token, None)
                .await?;
            times.push(started.elapsed());
            records += page.changes.len();
            let last = !page.has_more;
            if !self.client.on_pulled(page) {
                return Ok((records, times));
            }
            if last {
                // The drift check asked for a full pull: the copy differed from the server's.
                if drifted {
                    bail!("the phone's copy still differs from the server's after a full pull");
                }
                drifted = true;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The workload

/// A tiny deterministic generator (xorshift64*): the same seed gives the same workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn now_ms() -> u64 {
    chrono::Utc::now().timestamp_millis().max(0) as u64
}

/// A valid 18-digit resident ID number, different for every `n` below 10,000,000 within a
/// run (`region` keeps runs against the same server apart).
fn id_number(region: u32, n: usize) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1966, 1, 1).unwrap_or_default()
        + chrono::Days::new((n / 1000) as u64);
    let first17 = format!("{region:06}{}{:03}", birth.format("%Y%m%d"), n % 1000);
    let check = liuqing_schema::domain::id_number::IdNumber::check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

const CATEGORIES: &[&str] = &[
    "low_income_family",
    "older_worker",
    "disabled",
    "long_term_unemployed",
];
const EDUCATION: &[&str] = &[
    "primary",
    "junior_high",
    "senior_high",
    "vocational",
    "college",
];
const HOURS: &[&str] = &["daytime", "part_time", "flexible", "shifts", "any"];
const INSURANCE: &[&str] = &["none", "employee", "resident"];

/// A full six-clears record (every section, 24 fields).
fn six_clears(person: &str, n: usize) -> Value {
    json!({
        "person_id": person,
        "basic.education": EDUCATION[n % EDUCATION.len()],
        "basic.skills": ["驾驶", "电工"],
        "basic.work_history": format!("2010-2020 在纺织厂做挡车工，工号{n}"),
        "basic.health": "healthy",
        "basic.phone": format!("138{:08}", n),
        "difficulty.categories": [CATEGORIES[n % CATEGORIES.len()]],
        "difficulty.notes": "家庭收入低于当地最低生活保障标准",
        "family.members": 3 + n % 3,
        "family.employed_members": n % 2,
        "family.dependants": 1,
        "family.monthly_income": 1500 + n % 1000,
        "family.zero_employment": false,
        "needs.job_types": ["保洁", "物流"],
        "needs.training": ["育婴师"],
        "needs.hours": HOURS[n % HOURS.len()],
        "needs.location": "鼓楼区内",
        "needs.expected_pay": 3000 + n % 2000,
        "needs.startup_intent": n % 7 == 0,
        "insurance.pension": INSURANCE[n % INSURANCE.len()],
        "insurance.medical": "resident",
        "insurance.unemployment": false,
        "insurance.paying": true,
        "policies.enjoyed": [{ "policy": "灵活就业社保补贴", "from": "2024-01-01", "to": "2026-12-31" }],
    })
}

/// The fields the edit phase changes, and a value for edit number `n` (different for every
/// `n`, and from every value the creation phase wrote, so no edit is a no-op and the two
/// edits of an overlapping pair never agree).
const EDITABLE: &[(&str, &str)] = &[
    ("six_clears", "basic.work_history"),
    ("six_clears", "difficulty.notes"),
    ("six_clears", "needs.location"),
    ("six_clears", "family.monthly_income"),
    ("six_clears", "needs.expected_pay"),
    ("six_clears", "basic.phone"),
    ("person", "employment_card_no"),
    ("person", "name"),
];

fn edited_value(field: &str, n: usize) -> Value {
    match field {
        "family.monthly_income" => json!(100_000 + n),
        "needs.expected_pay" => json!(100_000 + n),
        "basic.phone" => json!(format!("139{:08}", n)),
        "employment_card_no" => json!(format!("EC-EDIT-{n}")),
        "name" => json!(format!("改名{n}")),
        _ => json!(format!("修改 {n}")),
    }
}

/// A mutation a phone will make: entity, record id, fields.
type Planned = (&'static str, String, Map<String, Value>);

/// One edit: which phone, which record and field, which value.
struct Edit {
    device: usize,
    entity: &'static str,
    id: String,
    field: &'static str,
    n: usize,
}

async fn workload(
    args: &Args,
    base: &str,
    admin_password: &str,
    run: u64,
    server: Option<u32>,
) -> Result<RunFigures> {
    let cpu = || server.and_then(cpu_time);
    let own_cpu = || cpu_time(std::process::id());
    let api = Api {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .context("HTTP client")?,
        base: base.trim_end_matches('/').to_string(),
    };
    let mut rng = Rng(args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (run + 1));
    // Names and ID numbers differ between runs, so runs can share an attached server.
    let tag = format!("{:x}", now_ms() % 0xFFFF_FFFF);
    // Fujian (35): the first two digits must be a province code; the other four vary.
    let region = 350_000 + (rng.next() % 10_000) as u32;

    // Setup: an org tree, coordinators bound to every community, a station staff member.
    let admin_device = uuid::Uuid::now_v7().to_string();
    let admin = api.login("admin", admin_password, &admin_device).await?;
    let district = api
        .node(&admin, None, "district", &format!("压测区{tag}"))
        .await?;
    let street = api
        .node(&admin, Some(&district), "street", "压测街道")
        .await?;
    let station = api
        .node(&admin, Some(&street), "station", "压测服务站")
        .await?;
    let mut communities = Vec::new();
    for i in 0..args.communities {
        communities.push(
            api.node(&admin, Some(&station), "community", &format!("压测社区{i}"))
                .await?,
        );
    }
    let mut phones = Vec::new();
    for i in 0..args.devices {
        phones.push(
            api.phone(
                &admin,
                &format!("lg{tag}-coord{i}"),
                "coordinator",
                &communities,
            )
            .await?,
        );
    }
    let mut reader = api
        .phone(
            &admin,
            &format!("lg{tag}-reader"),
            "coordinator",
            &communities,
        )
        .await?;
    let staff = api
        .phone(
            &admin,
            &format!("lg{tag}-staff"),
            "station_staff",
            std::slice::from_ref(&station),
        )
        .await?;

    let setup_rss_kib = server.and_then(peak_rss);

    // Phase 1: create. Each phone creates its households, their persons and six-clears
    // records, in order (a parent is pushed before its children), in pushes of `batch`.
    let mut plans: Vec<Vec<Planned>> = (0..args.devices).map(|_| Vec::new()).collect();
    let mut persons = Vec::new();
    let mut n = 0;
    for h in 0..args.households {
        let plan = &mut plans[h % args.devices];
        let household = uuid::Uuid::now_v7().to_string();
        plan.push((
            "household",
            household.clone(),
            fields(json!({
                "community_id": communities[h % communities.len()],
                "address": format!("压测路{h}号"),
                "zero_employment": false,
                "notes": "入户走访登记",
            })),
        ));
        for _ in 0..args.persons_per_household {
            let person = uuid::Uuid::now_v7().to_string();
            plan.push((
                "person",
                person.clone(),
                fields(json!({
                    "household_id": household,
                    "name": format!("居民{n}"),
                    "id_number": id_number(region, n),
                    "phone": format!("137{:08}", n),
                    "education": EDUCATION[n % EDUCATION.len()],
                    "unemployment_registered_on": "2025-03-01",
                    "employment_card_no": format!("EC{n}"),
                })),
            ));
            plan.push(("six_clears", person.clone(), fields(six_clears(&person, n))));
            persons.push(person);
            n += 1;
        }
    }
    let created: usize = plans.iter().map(Vec::len).sum();
    let started = Instant::now();
    let cpu_before = cpu();
    let own_before = own_cpu();
    let mut tasks = Vec::new();
    for (mut phone, plan) in phones.into_iter().zip(plans) {
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut results = Vec::new();
            for chunk in plan.chunks(batch) {
                for (entity, id, f) in chunk {
                    phone.client.edit(now_ms(), entity, id, f.clone());
                }
                let (r, took) = phone.push().await?;
                times.push(took);
                results.extend(r);
            }
            Ok::<_, anyhow::Error>((phone, times, results))
        }));
    }
    let mut phones = Vec::new();
    let mut figures = RunFigures {
        setup_rss_kib,
        ..RunFigures::default()
    };
    let mut create_times = Vec::new();
    for task in tasks {
        let (phone, times, results) = task.await.context("a phone's task")??;
        figures.rejected += count_rejected(&results, "create");
        create_times.extend(times);
        phones.push(phone);
    }
    figures.create = Phase {
        items: created,
        wall: started.elapsed(),
        server_cpu: cpu().zip(cpu_before).map(|(a, b)| a.saturating_sub(b)),
        generator_cpu: own_cpu().zip(own_before).map(|(a, b)| a.saturating_sub(b)),
        latencies: create_times,
    };

    // Phase 2: the initial pull of the whole scope by a fresh phone.
    let started = Instant::now();
    let cpu_before = cpu();
    let own_before = own_cpu();
    let (records, times) = reader.pull(args.page).await?;
    figures.initial_pull = Phase {
        items: records,
        wall: started.elapsed(),
        server_cpu: cpu().zip(cpu_before).map(|(a, b)| a.saturating_sub(b)),
        generator_cpu: own_cpu().zip(own_before).map(|(a, b)| a.saturating_sub(b)),
        latencies: times,
    };
    if reader.client.server.len() != created {
        bail!(
            "the initial pull holds {} records, {} were created",
            reader.client.server.len(),
            created
        );
    }
    // The editing phones sync too (not measured): their edits need base versions.
    let mut tasks = Vec::new();
    for mut phone in phones {
        let page = args.page;
        tasks.push(tokio::spawn(async move {
            phone.pull(page).await?;
            Ok::<_, anyhow::Error>(phone)
        }));
    }
    let mut phones = Vec::new();
    for task in tasks {
        phones.push(task.await.context("a phone's task")??);
    }

    // Phase 3: edits. Distinct (record, field) slots; the first `pairs` are edited by two
    // phones that have not seen each other's edit (a concurrent edit: one conflict record
    // each), the rest by one phone.
    let pairs = ((args.edits as f64 * args.overlap) / 2.0).round() as usize;
    let slots_needed = args.edits - pairs;
    let total_slots = persons.len() * EDITABLE.len();
    if slots_needed > total_slots {
        bail!(
            "{} edits need more records than {} households give",
            args.edits,
            args.households
        );
    }
    let mut picked = BTreeSet::new();
    let mut slots = Vec::new();
    while slots.len() < slots_needed {
        let s = rng.below(total_slots);
        if picked.insert(s) {
            slots.push(s);
        }
    }
    let mut edits = Vec::new();
    for (k, slot) in slots.iter().enumerate() {
        let (entity, field) = EDITABLE[slot % EDITABLE.len()];
        let id = persons[slot / EDITABLE.len()].clone();
        let first = rng.below(args.devices);
        let devices = if k < pairs {
            vec![
                first,
                (first + 1 + rng.below(args.devices - 1)) % args.devices,
            ]
        } else {
            vec![first]
        };
        for device in devices {
            edits.push(Edit {
                device,
                entity,
                id: id.clone(),
                field,
                n: edits.len(),
            });
        }
    }
    let overlapping: BTreeSet<(&str, &str)> = edits
        .iter()
        .take(2 * pairs)
        .map(|e| (e.id.as_str(), e.field))
        .collect();
    let mut per_device: Vec<Vec<&Edit>> = (0..args.devices).map(|_| Vec::new()).collect();
    for e in &edits {
        per_device[e.device].push(e);
    }
    let mut plans = Vec::new();
    for list in &mut per_device {
        rng.shuffle(list);
        plans.push(
            list.iter()
                .map(|e| {
                    let mut f = Map::new();
                    f.insert(e.field.to_string(), edited_value(e.field, e.n));
                    (e.entity, e.id.clone(), f)
                })
                .collect::<Vec<_>>(),
        );
    }
    let started = Instant::now();
    let cpu_before = cpu();
    let own_before = own_cpu();
    let mut tasks = Vec::new();
    for (mut phone, plan) in phones.into_iter().zip(plans) {
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut answered = Vec::new();
            for chunk in plan.chunks(batch) {
                let mut sent = Vec::new();
                for (entity, id, f) in chunk {
                    let m = phone.client.edit(now_ms(), entity, id, f.clone());
                    sent.push(m);
                }
                let (results, took) = phone.push().await?;
                times.push(took);
                answered.extend(sent.into_iter().zip(results));
            }
            Ok::<_, anyhow::Error>((phone, times, answered))
        }));
    }
    let mut answered = Vec::new();
    let mut edit_times = Vec::new();
    for task in tasks {
        let (_, times, a) = task.await.context("a phone's task")??;
        edit_times.extend(times);
        answered.extend(a);
    }
    figures.edits = Phase {
        items: edits.len(),
        wall: started.elapsed(),
        server_cpu: cpu().zip(cpu_before).map(|(a, b)| a.saturating_sub(b)),
        generator_cpu: own_cpu().zip(own_before).map(|(a, b)| a.saturating_sub(b)),
        latencies: edit_times,
    };

    // Every overlapping pair must have left a conflict record: the second of its two
    // mutations answers `merged` (it won; the other value is recorded) or `conflict`.
    let results: Vec<MutationResult> = answered.iter().map(|(_, r)| r.clone()).collect();
    figures.rejected += count_rejected(&results, "edit");
    let mut decided: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (m, r) in &answered {
        let Some(field) = m.fields.keys().next() else {
            continue;
        };
        let key = (m.id.to_string(), field.clone());
        let concurrent = matches!(r.status, Status::Merged | Status::Conflict);
        if overlapping.contains(&(key.0.as_str(), key.1.as_str())) {
            *decided.entry(key).or_default() += usize::from(concurrent);
        } else if concurrent {
            figures.unexpected_conflicts += 1;
        }
    }
    figures.pairs = pairs;
    figures.pairs_with_conflict = decided.values().filter(|n| **n == 1).count();
    // And the staff queue lists them (it answers at most 500, oldest first).
    if pairs < 500 {
        let r = api
            .expect(
                200,
                Method::GET,
                "/v1/sync/conflicts",
                Some(&staff.token),
                None,
            )
            .await?;
        let listed = r["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|c| {
                        let id = c["record_id"].as_str().unwrap_or("");
                        let field = c["field"].as_str().unwrap_or("");
                        overlapping.contains(&(id, field))
                    })
                    .count()
            })
            .unwrap_or(0);
        figures.conflicts_listed = Some(listed);
    }

    // Phase 4: the delta pull of everything the edits changed.
    let changed: BTreeSet<(&str, &str)> = edits.iter().map(|e| (e.entity, e.id.as_str())).collect();
    let started = Instant::now();
    let cpu_before = cpu();
    let own_before = own_cpu();
    let (records, times) = reader.pull(args.page).await?;
    figures.delta_pull = Phase {
        items: records,
        wall: started.elapsed(),
        server_cpu: cpu().zip(cpu_before).map(|(a, b)| a.saturating_sub(b)),
        generator_cpu: own_cpu().zip(own_before).map(|(a, b)| a.saturating_sub(b)),
        latencies: times,
    };
    if records != changed.len() {
        bail!(
            "the delta pull brought {records} records; the edits changed {}",
            changed.len()
        );
    }
    Ok(figures)
}

/// Counts refused mutations and says why the first few were refused.
fn count_rejected(results: &[MutationResult], phase: &str) -> usize {
    let rejected: Vec<&MutationResult> = results
        .iter()
        .filter(|r| r.status == Status::Rejected)
        .collect();
    for r in rejected.iter().take(3) {
        eprintln!("{phase}: rejected {:?}: {:?}", r.reason, r.errors);
    }
    rejected.len()
}
