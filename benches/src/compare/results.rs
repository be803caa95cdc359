//! What runs produce: samples of metrics, and per case and stack the samples, the
//! failures and the medians the report shows.

use std::collections::BTreeMap;

use super::cases::{Case, Kind};
use super::stacks::{Contender, Flavor, Stack};

/// A measured quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Messages per second (for a fan-out, per subscriber).
    MsgPerSec,
    /// Payload megabytes (10^6 bytes) per second.
    MegabytesPerSec,
    /// Messages delivered per second, all subscribers together.
    DeliveriesPerSec,
    /// Requests answered per second, all clients together.
    RequestsPerSec,
    /// Median round trip, µs.
    P50Us,
    /// 99th percentile round trip, µs.
    P99Us,
    /// CPU seconds (user + system, all processes) per million messages.
    CpuPerMillion,
    /// CPU seconds of the broker (or proxy) process alone per million requests.
    BrokerCpuPerMillion,
    /// Peak resident memory, all processes together, MiB.
    PeakRssMib,
    /// Resident memory per idle peer, bytes.
    BytesPerPeer,
    /// Peers connected and answered.
    Peers,
    /// Messages (or round trips) in the run.
    Count,
}

impl Metric {
    /// Whether more is better.
    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Metric::MsgPerSec
                | Metric::MegabytesPerSec
                | Metric::DeliveriesPerSec
                | Metric::RequestsPerSec
                | Metric::Peers
        )
    }
}

/// The metrics of one run.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    values: BTreeMap<Metric, f64>,
    /// Something the reader should know about the run (it fell short, say).
    pub note: Option<String>,
}

impl Sample {
    /// Adds a metric.
    pub fn with(mut self, metric: Metric, value: f64) -> Sample {
        self.values.insert(metric, value);
        self
    }

    /// A metric's value.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        self.values.get(&metric).copied()
    }
}

/// Everything one stack did in one case.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Successful runs.
    pub samples: Vec<Sample>,
    /// Why runs failed.
    pub failures: Vec<String>,
    /// Why the stack was not run at all (after failing its sizing run, say).
    pub skipped: Option<String>,
}

impl Outcome {
    /// The values of `metric` over the successful runs, sorted.
    fn values(&self, metric: Metric) -> Vec<f64> {
        let mut values: Vec<f64> = self.samples.iter().filter_map(|s| s.get(metric)).collect();
        values.sort_by(f64::total_cmp);
        values
    }

    /// The median of `metric`.
    pub fn median(&self, metric: Metric) -> Option<f64> {
        let values = self.values(metric);
        let n = values.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(values[n / 2]),
            _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
        }
    }

    /// The smallest and largest `metric`.
    pub fn spread(&self, metric: Metric) -> Option<(f64, f64)> {
        let values = self.values(metric);
        Some((*values.first()?, *values.last()?))
    }

    /// Why there is no figure: the reason it was skipped or its first failure.
    pub fn could_not_run(&self) -> Option<String> {
        if !self.samples.is_empty() {
            return None;
        }
        self.skipped
            .clone()
            .or_else(|| self.failures.first().cloned())
            .or_else(|| Some("not run".to_owned()))
    }
}

/// Every case that ran, with each contender's outcome (a stack, and for a Rust
/// stack its runtime).
#[derive(Default)]
pub struct Results {
    /// In report order.
    pub cases: Vec<(Case, BTreeMap<Contender, Outcome>)>,
}

impl Results {
    /// The outcomes of the case of this kind, if it ran.
    pub fn of(&self, kind: &Kind) -> Option<&BTreeMap<Contender, Outcome>> {
        self.cases
            .iter()
            .find(|(case, _)| case.kind == *kind)
            .map(|(_, outcomes)| outcomes)
    }

    /// The results as seen from `runtime`: each Rust stack's outcome on that
    /// runtime, and libzmq's and the Python brokers' (which have none), keyed by
    /// stack, so that purezmq is set against peers measured on the same runtime.
    pub fn on(&self, runtime: Flavor) -> View {
        let cases = self
            .cases
            .iter()
            .map(|(case, outcomes)| {
                let outcomes = outcomes
                    .iter()
                    .filter(|(contender, _)| contender.runtime.is_none_or(|r| r == runtime))
                    .map(|(contender, outcome)| (contender.stack, outcome.clone()))
                    .collect();
                (case.clone(), outcomes)
            })
            .collect();
        View { runtime, cases }
    }

    /// The runtimes any contender ran on, in report order.
    pub fn runtimes(&self) -> Vec<Flavor> {
        Flavor::ALL
            .into_iter()
            .filter(|&runtime| {
                self.cases
                    .iter()
                    .flat_map(|(_, outcomes)| outcomes.keys())
                    .any(|contender| contender.runtime == Some(runtime))
            })
            .collect()
    }
}

/// The results from one runtime ([`Results::on`]): one outcome per stack.
pub struct View {
    /// The runtime of the Rust stacks' outcomes.
    pub runtime: Flavor,
    /// In report order.
    pub cases: Vec<(Case, BTreeMap<Stack, Outcome>)>,
}

impl View {
    /// The outcomes of the case of this kind, if it ran.
    pub fn of(&self, kind: &Kind) -> Option<&BTreeMap<Stack, Outcome>> {
        self.cases
            .iter()
            .find(|(case, _)| case.kind == *kind)
            .map(|(_, outcomes)| outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::cases;

    fn outcome(value: f64) -> Outcome {
        Outcome {
            samples: vec![Sample::default().with(Metric::MsgPerSec, value)],
            ..Outcome::default()
        }
    }

    fn on(stack: Stack, runtime: Option<Flavor>) -> Contender {
        Contender { stack, runtime }
    }

    #[test]
    fn a_view_holds_the_rust_stacks_of_its_runtime_and_libzmq() {
        let case = cases::all(10, 10).remove(0);
        let outcomes = BTreeMap::from([
            (
                on(Stack::Purezmq, Some(Flavor::CurrentThread)),
                outcome(1.0),
            ),
            (on(Stack::Purezmq, Some(Flavor::MultiThread)), outcome(2.0)),
            (on(Stack::Libzmq, None), outcome(3.0)),
            (on(Stack::Omq, Some(Flavor::CurrentThread)), outcome(4.0)),
            (on(Stack::Omq, Some(Flavor::MultiThread)), outcome(5.0)),
        ]);
        let results = Results {
            cases: vec![(case.clone(), outcomes)],
        };
        assert_eq!(results.runtimes(), Flavor::ALL.to_vec());
        let median =
            |view: &View, stack| view.of(&case.kind)?.get(&stack)?.median(Metric::MsgPerSec);
        let multi = results.on(Flavor::MultiThread);
        assert_eq!(median(&multi, Stack::Purezmq), Some(2.0));
        assert_eq!(median(&multi, Stack::Omq), Some(5.0));
        assert_eq!(median(&multi, Stack::Libzmq), Some(3.0));
        let current = results.on(Flavor::CurrentThread);
        assert_eq!(median(&current, Stack::Purezmq), Some(1.0));
        assert_eq!(median(&current, Stack::Omq), Some(4.0));
        assert_eq!(median(&current, Stack::Libzmq), Some(3.0));
    }

    #[test]
    fn a_rust_stack_contends_on_each_runtime_and_libzmq_once() {
        assert_eq!(
            Contender::all_of(Stack::Rzmq, &Flavor::ALL),
            vec![
                on(Stack::Rzmq, Some(Flavor::CurrentThread)),
                on(Stack::Rzmq, Some(Flavor::MultiThread))
            ]
        );
        assert_eq!(
            Contender::all_of(Stack::Libzmq, &Flavor::ALL),
            vec![on(Stack::Libzmq, None)]
        );
    }

    #[test]
    fn a_run_on_one_runtime_reports_that_runtime_only() {
        let case = cases::all(10, 10).remove(0);
        let outcomes = BTreeMap::from([
            (on(Stack::Purezmq, Some(Flavor::MultiThread)), outcome(2.0)),
            (on(Stack::Libzmq, None), outcome(3.0)),
        ]);
        let results = Results {
            cases: vec![(case, outcomes)],
        };
        assert_eq!(results.runtimes(), vec![Flavor::MultiThread]);
    }
}
