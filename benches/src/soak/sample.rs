//! Watching the process: resident memory, live heap and open file descriptors,
//! sampled by a thread of its own, and the verdict on whether they grew.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::heap;

/// One look at the process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Time since sampling started.
    pub at: Duration,
    /// Resident set (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Bytes on the heap (0 when the counting allocator is not installed).
    pub heap: u64,
    /// Entries of `/proc/self/fd`.
    pub fds: u64,
}

impl Sample {
    /// The process now.
    pub fn take(at: Duration) -> Sample {
        Sample {
            at,
            rss_kib: rss_kib(),
            heap: heap::live_bytes(),
            fds: open_fds(),
        }
    }
}

/// `VmRSS` from `/proc/self/status`, KiB (0 if unreadable).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors (0 if `/proc/self/fd` is unreadable). The count includes
/// the one `read_dir` itself holds while it looks.
fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64)
}

/// A thread sampling the process at a fixed interval until [`Sampler::finish`].
pub struct Sampler {
    started: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling now, then every `interval`.
    pub fn start(interval: Duration) -> Sampler {
        let started = Instant::now();
        let samples = Arc::new(Mutex::new(vec![Sample::take(Duration::ZERO)]));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let samples = Arc::clone(&samples);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("soak-sampler".into())
                .spawn(move || {
                    let mut next = started + interval;
                    while !stop.load(Ordering::Relaxed) {
                        let now = Instant::now();
                        if now < next {
                            std::thread::sleep((next - now).min(Duration::from_millis(50)));
                            continue;
                        }
                        let sample = Sample::take(now - started);
                        samples
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(sample);
                        next += interval;
                    }
                })
                .expect("a thread can be started")
        };
        Sampler {
            started,
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling; the samples taken, and one more taken now.
    pub fn finish(mut self) -> (Vec<Sample>, Sample) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let samples = std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()));
        (samples, Sample::take(self.started.elapsed()))
    }
}

/// How much growth a scenario tolerates.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Resident set: the last quarter's mean may exceed the second quarter's by this
    /// many KiB …
    pub rss_kib: u64,
    /// … or by this share of the second quarter's mean, whichever is larger.
    pub rss_share: f64,
    /// Live heap: likewise, in bytes …
    pub heap_bytes: u64,
    /// … or this share.
    pub heap_share: f64,
    /// File descriptors open at the end, sockets closed, beyond the most seen
    /// during the warm-up.
    pub fd_slack: u64,
}

/// What the samples say.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// The first sample.
    pub start: Sample,
    /// The last sample, taken after the scenario closed its sockets.
    pub end: Sample,
    /// Most resident memory seen, KiB.
    pub peak_rss_kib: u64,
    /// Mean resident set of the second quarter and of the last, KiB.
    pub rss_quarters_kib: (f64, f64),
    /// Mean live heap of the second quarter and of the last, bytes.
    pub heap_quarters: (f64, f64),
    /// Most file descriptors open during the warm-up (the first quarter).
    pub warm_up_fds: u64,
    /// Samples taken while the scenario ran.
    pub samples: usize,
}

/// The fewest samples a verdict is drawn from: two per quarter.
pub const MIN_SAMPLES: usize = 8;

/// Judges a run: its samples (taken while it ran) and the sample at the end. The
/// first quarter is the warm-up; memory is judged by the mean of the last quarter
/// against the mean of the second, descriptors by the end against the warm-up.
/// Returns the figures and what grew too much, each a sentence.
pub fn judge(samples: &[Sample], end: Sample, limits: &Limits) -> (Figures, Vec<String>) {
    let mut problems = Vec::new();
    let mut figures = Figures {
        start: samples.first().copied().unwrap_or(end),
        end,
        peak_rss_kib: samples
            .iter()
            .map(|s| s.rss_kib)
            .chain([end.rss_kib])
            .max()
            .unwrap_or(0),
        samples: samples.len(),
        ..Figures::default()
    };
    if samples.len() < MIN_SAMPLES {
        problems.push(format!(
            "only {} samples were taken, too few to judge growth (at least {MIN_SAMPLES}): run longer",
            samples.len()
        ));
        return (figures, problems);
    }
    let quarter = samples.len() / 4;
    let warm_up = &samples[..quarter];
    let second = &samples[quarter..2 * quarter];
    let last = &samples[samples.len() - quarter..];
    let mean = |part: &[Sample], field: fn(&Sample) -> u64| {
        part.iter().map(|s| field(s) as f64).sum::<f64>() / part.len() as f64
    };

    let rss = (mean(second, |s| s.rss_kib), mean(last, |s| s.rss_kib));
    figures.rss_quarters_kib = rss;
    let allowed = (limits.rss_kib as f64).max(rss.0 * limits.rss_share);
    if rss.1 - rss.0 > allowed {
        problems.push(format!(
            "resident memory kept growing: the last quarter's mean is {} above the second quarter's ({} -> {}; allowed {})",
            kib(rss.1 - rss.0),
            kib(rss.0),
            kib(rss.1),
            kib(allowed)
        ));
    }

    let heap = (mean(second, |s| s.heap), mean(last, |s| s.heap));
    figures.heap_quarters = heap;
    if heap.0 > 0.0 {
        let allowed = (limits.heap_bytes as f64).max(heap.0 * limits.heap_share);
        if heap.1 - heap.0 > allowed {
            problems.push(format!(
                "the live heap kept growing: the last quarter's mean is {} above the second quarter's ({} -> {}; allowed {})",
                kib((heap.1 - heap.0) / 1024.0),
                kib(heap.0 / 1024.0),
                kib(heap.1 / 1024.0),
                kib(allowed / 1024.0)
            ));
        }
    }

    figures.warm_up_fds = warm_up.iter().map(|s| s.fds).max().unwrap_or(0);
    if end.fds > figures.warm_up_fds + limits.fd_slack {
        problems.push(format!(
            "{} file descriptors are open after every socket closed, {} more than the warm-up's most ({}; allowed {} more)",
            end.fds,
            end.fds - figures.warm_up_fds,
            figures.warm_up_fds,
            limits.fd_slack
        ));
    }
    (figures, problems)
}

/// KiB as a short human figure.
pub fn kib(kib: f64) -> String {
    if kib.abs() >= 1024.0 {
        format!("{:.1} MiB", kib / 1024.0)
    } else {
        format!("{kib:.0} KiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        rss_kib: 2048,
        rss_share: 0.1,
        heap_bytes: 256 * 1024,
        heap_share: 0.05,
        fd_slack: 2,
    };

    fn run(rss: impl Fn(u64) -> u64, heap: impl Fn(u64) -> u64, fds: u64) -> Vec<Sample> {
        (0..40)
            .map(|i| Sample {
                at: Duration::from_secs(i),
                rss_kib: rss(i),
                heap: heap(i),
                fds,
            })
            .collect()
    }

    #[test]
    fn a_flat_run_passes_even_with_a_warm_up_spike() {
        let samples = run(
            |i| if i < 5 { 30_000 } else { 10_000 + i % 3 * 100 },
            |_| 1 << 20,
            20,
        );
        let end = Sample {
            fds: 21,
            ..samples[39]
        };
        let (figures, problems) = judge(&samples, end, &LIMITS);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(figures.peak_rss_kib, 30_000);
        assert_eq!(figures.warm_up_fds, 20);
    }

    #[test]
    fn steady_resident_growth_fails() {
        // 100 KiB per sample: 2000 KiB between the quarters' middles, on 12 MiB.
        let samples = run(|i| 10_000 + i * 120, |_| 1 << 20, 20);
        let (_, problems) = judge(&samples, samples[39], &LIMITS);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("resident memory kept growing"));
    }

    #[test]
    fn steady_heap_growth_fails() {
        let samples = run(|_| 10_000, |i| (1 << 20) + i * 20_000, 20);
        let (_, problems) = judge(&samples, samples[39], &LIMITS);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("live heap kept growing"));
    }

    #[test]
    fn descriptors_left_open_at_the_end_fail() {
        let samples = run(|_| 10_000, |_| 1 << 20, 20);
        let end = Sample {
            fds: 23,
            ..samples[39]
        };
        let (_, problems) = judge(&samples, end, &LIMITS);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("file descriptors"));
    }

    #[test]
    fn too_few_samples_are_not_judged_as_passing() {
        let samples = run(|_| 10_000, |_| 0, 20);
        let (_, problems) = judge(&samples[..5], samples[4], &LIMITS);
        assert!(problems[0].contains("too few"));
    }
}
