//! One scenario on one runtime, in this process: run it under the sampler, judge
//! the samples, print the summary line and what failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::context::Context;
use super::sample::{self, Sampler, kib};
use super::{Flavor, Scenario};

/// How long the connections get to finish closing after the scenario closed its
/// sockets, before the last sample.
const SETTLE: Duration = Duration::from_millis(500);
/// Runs at least this long print a progress line to stderr every this long.
const PROGRESS: Duration = Duration::from_secs(60);

/// Runs `scenario` on `flavor` for `duration`, leaking `leak` bytes per iteration;
/// prints its summary (and `FAIL:` lines); whether it passed.
pub fn one(scenario: Scenario, flavor: Flavor, duration: Duration, leak: usize) -> bool {
    let label = format!("{}/{}", scenario.name(), flavor.name());
    let runtime = match flavor.build() {
        Ok(runtime) => runtime,
        Err(e) => {
            println!("{label:<17} FAILED\n  FAIL: could not build the runtime: {e}");
            return false;
        }
    };
    let ctx = match Context::new(Instant::now() + duration, leak, &label.replace('/', "-")) {
        Ok(ctx) => Arc::new(ctx),
        Err(e) => {
            println!("{label:<17} FAILED\n  FAIL: {e}");
            return false;
        }
    };
    // Once a second for long runs, more often for short ones (at least 100 samples).
    let interval = (duration / 100).clamp(Duration::from_millis(250), Duration::from_secs(1));
    let sampler = Sampler::start(interval);
    let started = Instant::now();
    let outcome = runtime.block_on(async {
        let progress = (duration >= 2 * PROGRESS)
            .then(|| tokio::spawn(progress(label.clone(), Arc::clone(&ctx))));
        let outcome = scenario.run(&ctx).await;
        if let Some(progress) = progress {
            progress.abort();
        }
        tokio::time::sleep(SETTLE).await;
        outcome
    });
    let elapsed = started.elapsed();
    let (samples, end) = sampler.finish();
    let (figures, mut problems) = sample::judge(&samples, end, &scenario.limits());
    if let Err(e) = outcome {
        problems.insert(0, e);
    }
    let left = ctx.files_left();
    if !left.is_empty() {
        problems.push(format!(
            "ipc files left behind after every socket closed: {}",
            left.join(", ")
        ));
    }
    let iterations = ctx.iterations_so_far();
    let heap = if figures.heap_quarters.0 > 0.0 {
        format!(
            "; heap {} -> {}",
            kib(figures.heap_quarters.0 / 1024.0),
            kib(figures.heap_quarters.1 / 1024.0)
        )
    } else {
        String::new()
    };
    println!(
        "{label:<17} {}  {iterations} iterations ({:.0}/s), {} messages; RSS start {}, peak {}, end {}, \
         quarters 2 -> 4: {} -> {}{heap}; fds start {}, warm-up max {}, end {}",
        if problems.is_empty() {
            "ok    "
        } else {
            "FAILED"
        },
        iterations as f64 / elapsed.as_secs_f64(),
        ctx.messages_so_far(),
        kib(figures.start.rss_kib as f64),
        kib(figures.peak_rss_kib as f64),
        kib(figures.end.rss_kib as f64),
        kib(figures.rss_quarters_kib.0),
        kib(figures.rss_quarters_kib.1),
        figures.start.fds,
        figures.warm_up_fds,
        figures.end.fds,
    );
    for problem in &problems {
        println!("  FAIL: {problem}");
    }
    problems.is_empty()
}

/// Prints where a long run is, every [`PROGRESS`].
async fn progress(label: String, ctx: Arc<Context>) {
    let started = Instant::now();
    loop {
        tokio::time::sleep(PROGRESS).await;
        let now = sample::Sample::take(started.elapsed());
        eprintln!(
            "  {label}: {} min, {} iterations, {} messages; RSS {}, heap {}, fds {}",
            started.elapsed().as_secs() / 60,
            ctx.iterations_so_far(),
            ctx.messages_so_far(),
            kib(now.rss_kib as f64),
            kib(now.heap as f64 / 1024.0),
            now.fds
        );
    }
}
