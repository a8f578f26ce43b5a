//! The derivative benchmark (see BENCHMARKS.md): makes the thumbnail and the review image of
//! one JPEG the way the background worker does, `runs` times, and prints the times.
//!
//! cargo run --release -p liuqing-api --example derive_bench -- photo.jpg 10

use std::time::{Duration, Instant};

use liuqing_api::media::{self, Kind};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: derive_bench <photo.jpg> [runs]"))?;
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(10);
    let bytes = std::fs::read(&path)?;
    let limits = liuqing_api::Config::default().image_limits();
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut sizes = (0, 0);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let derived = media::derive(&bytes, Kind::Jpeg, None, &limits)?;
        times.push(start.elapsed());
        sizes = (derived.thumbnail.len(), derived.review.len());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{path}: {} runs, min {:.1} ms, median {:.1} ms; thumbnail {} B, review {} B",
        times.len(),
        ms(times[0]),
        ms(times[times.len() / 2]),
        sizes.0,
        sizes.1
    );
    Ok(())
}
