//! What a worker process measures about itself: CPU time, resident memory, the
//! system-wide monotonic clock, and its file descriptor limit.

use std::time::Duration;

/// `getrusage(who)`: `RUSAGE_SELF`, or `RUSAGE_CHILDREN` (the children waited for).
fn usage(who: libc::c_int) -> libc::rusage {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `struct rusage` through the pointer, which points
    // at a zeroed, properly aligned `rusage` this function owns; `who` is one of the
    // two valid values. Every bit pattern, zero included, is a valid `rusage`, so
    // the value is initialised whether or not the call succeeds.
    unsafe {
        libc::getrusage(who, usage.as_mut_ptr());
        usage.assume_init()
    }
}

/// User plus system CPU time in a `rusage`.
fn cpu_of(usage: &libc::rusage) -> Duration {
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// User plus system CPU time this process (all its threads) has used so far.
pub fn cpu_time() -> Duration {
    cpu_of(&usage(libc::RUSAGE_SELF))
}

/// A field of `/proc/self/status` in KiB: `VmHWM` (peak resident set) or `VmRSS`
/// (resident set now). Zero where `/proc` is missing.
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Peak resident memory of this process so far, in KiB (`VmHWM`).
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM")
}

/// Resident memory of this process now, in KiB (`VmRSS`).
pub fn rss_kib() -> u64 {
    status_kib("VmRSS")
}

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process on the machine, so
/// times taken by different workers can be compared.
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one `timespec` through a pointer to a live,
    // aligned `timespec` on this stack frame; CLOCK_MONOTONIC exists on every
    // Linux kernel.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Raises this process's soft limit on open files to its hard limit and returns the
/// new soft limit.
pub fn raise_open_files_limit() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read or write one `rlimit` through a pointer to
    // a live, aligned `rlimit` on this stack frame; RLIMIT_NOFILE is a valid resource.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

/// The line every worker prints last: its CPU time and peak resident memory, plus
/// those of a child process it ran and waited for (pyzmq's proxy), if any.
pub fn stats_line() -> String {
    let children = usage(libc::RUSAGE_CHILDREN);
    let child_kib = u64::try_from(children.ru_maxrss).unwrap_or(0);
    format!(
        "STATS cpu_ns={} hwm_kib={}",
        (cpu_time() + cpu_of(&children)).as_nanos(),
        peak_rss_kib() + child_kib
    )
}
