//! The perf tools' shared parts: arguments and libzmq's report lines.

use std::time::Duration;

/// `<endpoint> <message-size> <count>`, as libzmq's perf tools take them.
pub struct Args {
    /// Where to bind or connect.
    pub endpoint: String,
    /// Bytes per message.
    pub size: usize,
    /// Messages or round trips.
    pub count: usize,
}

impl Args {
    /// Parses the process's arguments, or exits with libzmq's usage line.
    pub fn parse(tool: &str, what: &str, count_name: &str) -> Args {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let usage = || -> ! {
            eprintln!("usage: {tool} <{what}> <message-size> <{count_name}>");
            std::process::exit(1);
        };
        if args.len() != 3 {
            usage();
        }
        let (Ok(size), Ok(count)) = (args[1].parse(), args[2].parse()) else {
            usage();
        };
        Args {
            endpoint: args[0].clone(),
            size,
            count,
        }
    }
}

/// Prints libzmq's `local_thr` report.
pub fn print_throughput(size: usize, count: usize, elapsed: Duration) {
    let micros = elapsed.as_micros().max(1) as f64;
    let throughput = count as f64 * 1_000_000.0 / micros;
    let megabits = throughput * size as f64 * 8.0 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", throughput as u64);
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// Prints libzmq's `remote_lat` report.
pub fn print_latency(size: usize, roundtrips: usize, elapsed: Duration) {
    let latency = elapsed.as_secs_f64() * 1_000_000.0 / (roundtrips as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
    println!("average latency: {latency:.3} [us]");
}
