//! The cases `compare` runs, their names (what `--filter` matches) and the stacks
//! each involves.

use super::stacks::{Broker, Device, Pattern, Stack, Transport};

/// Message sizes of the throughput cases.
pub const SIZES: [usize; 5] = [32, 128, 1024, 8 * 1024, 64 * 1024];
/// Message sizes of the fan-out cases.
pub const FAN_OUT_SIZES: [usize; 2] = [32, 1024];
/// Message sizes of the CURVE cases.
pub const CURVE_SIZES: [usize; 2] = [32, 1024];
/// Message sizes of the proxy cases.
pub const PROXY_SIZES: [usize; 2] = [32, 1024];
/// The request size of the latency cases.
pub const LATENCY_SIZE: usize = 32;
/// Body size of the broker cases' requests and replies.
pub const BROKER_BODY: usize = 32;
/// (workers, clients) of the broker cases.
pub const BROKER_SHAPES: [(usize, usize); 4] = [(1, 1), (1, 16), (4, 1), (4, 16)];
/// Peers in the many-connections case.
pub const MANY_CONNECTIONS: usize = 10_000;

/// What a case measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// PUSH to PULL, `size`-byte messages; over tcp with CURVE if `curve`.
    Throughput {
        /// The transport.
        transport: Transport,
        /// Bytes per message.
        size: usize,
        /// CURVE security (tcp only).
        curve: bool,
    },
    /// One PUB to `subscribers` SUBs over tcp, each receiving every message.
    FanOut {
        /// SUB processes.
        subscribers: usize,
        /// Bytes per message.
        size: usize,
    },
    /// A sender, a proxy and a receiver, each a process, over tcp: PUSH → PULL/PUSH
    /// → PULL or PUB → XSUB/XPUB → SUB, `size`-byte messages timed by the receiver.
    Proxied {
        /// What the proxy forwards between.
        device: Device,
        /// Bytes per message.
        size: usize,
    },
    /// Clients, a broker and echo workers, each side a process, over tcp: each
    /// client keeps one request of [`BROKER_BODY`] bytes in flight, for a fixed time
    /// after a warm-up.
    Brokered {
        /// A Majordomo broker or a plain queue.
        broker: Broker,
        /// Echo workers.
        workers: usize,
        /// Clients.
        clients: usize,
    },
    /// Round trips of [`LATENCY_SIZE`] bytes.
    Latency {
        /// REQ/REP or DEALER/ROUTER.
        pattern: Pattern,
        /// The transport.
        transport: Transport,
    },
    /// A ROUTER's memory per idle tcp peer.
    IdleMemory {
        /// Idle peers.
        peers: usize,
    },
    /// Whether a ROUTER takes this many concurrent tcp peers.
    Connections {
        /// Peers.
        peers: usize,
    },
}

/// One case: a kind and the stacks that take part.
#[derive(Clone, Debug)]
pub struct Case {
    /// What `--filter` matches and the report names.
    pub name: String,
    /// What it measures.
    pub kind: Kind,
    /// Who runs it (stacks that cannot are reported as such).
    pub stacks: Vec<Stack>,
}

/// `32B`, `1KiB`, `64KiB`.
pub fn size_name(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    }
}

impl Kind {
    /// The case's name.
    pub fn name(&self) -> String {
        match *self {
            Kind::Throughput {
                transport,
                size,
                curve: false,
            } => format!("push-pull/{}/{}", transport.key(), size_name(size)),
            Kind::Throughput {
                transport,
                size,
                curve: true,
            } => format!("curve/push-pull/{}/{}", transport.key(), size_name(size)),
            Kind::FanOut { subscribers, size } => {
                let subs = if subscribers == 1 { "sub" } else { "subs" };
                format!("pub-sub/tcp/{subscribers}-{subs}/{}", size_name(size))
            }
            Kind::Proxied { device, size } => {
                format!("proxy/{}/tcp/{}", device.key(), size_name(size))
            }
            Kind::Brokered {
                broker,
                workers,
                clients,
            } => format!("broker/{}/{workers}w-{clients}c", broker.key()),
            Kind::Latency { pattern, transport } => {
                format!("latency/{}/{}", pattern.key(), transport.key())
            }
            Kind::IdleMemory { .. } => "memory/idle-tcp-peers".to_owned(),
            Kind::Connections { peers } => format!("connections/tcp/{peers}"),
        }
    }

    /// The same pair without the proxy in between, which a proxy case is compared
    /// with: the PUSH/PULL throughput case or the PUB fan-out to one SUB, at its size.
    /// For a Majordomo case, the plain queue with as many workers and clients.
    pub fn direct(&self) -> Option<Kind> {
        match *self {
            Kind::Brokered {
                broker: Broker::Majordomo,
                workers,
                clients,
            } => Some(Kind::Brokered {
                broker: Broker::Queue,
                workers,
                clients,
            }),
            Kind::Proxied {
                device: Device::Streamer,
                size,
            } => Some(Kind::Throughput {
                transport: Transport::Tcp,
                size,
                curve: false,
            }),
            Kind::Proxied {
                device: Device::Forwarder,
                size,
            } => Some(Kind::FanOut {
                subscribers: 1,
                size,
            }),
            _ => None,
        }
    }

    /// The stacks that take part; the raw baseline only where it has an equivalent.
    fn stacks(&self) -> Vec<Stack> {
        let zmtp: Vec<Stack> = Stack::ALL
            .into_iter()
            .filter(|s| s.is_zmtp() && *s != Stack::Raw)
            .collect();
        match *self {
            // The queue: purezmq's proxy, and libzmq's zmq_proxy for reference.
            Kind::Brokered {
                broker: Broker::Queue,
                ..
            } => vec![Stack::Purezmq, Stack::Libzmq],
            // Written here over purezmq sockets, a reference for purezmq's broker.
            Kind::Brokered {
                broker: Broker::LoadBalancer,
                ..
            } => vec![Stack::Purezmq],
            Kind::Brokered {
                broker: Broker::Majordomo,
                ..
            } => vec![Stack::Purezmq, Stack::Majortomo, Stack::ZguidePy],
            Kind::Throughput {
                transport: Transport::Inproc,
                ..
            }
            | Kind::Throughput { curve: true, .. }
            | Kind::FanOut { .. }
            | Kind::Proxied { .. }
            | Kind::IdleMemory { .. }
            | Kind::Connections { .. } => zmtp,
            Kind::Throughput { .. } | Kind::Latency { .. } => {
                Stack::ALL.into_iter().filter(|s| s.is_zmtp()).collect()
            }
        }
    }
}

/// Every case, in report order. `idle_peers` sizes the memory case and
/// `many_peers` the connection-count case.
pub fn all(idle_peers: usize, many_peers: usize) -> Vec<Case> {
    let mut kinds = Vec::new();
    for transport in [Transport::Tcp, Transport::Ipc, Transport::Inproc] {
        for size in SIZES {
            kinds.push(Kind::Throughput {
                transport,
                size,
                curve: false,
            });
        }
    }
    for subscribers in [1, 8] {
        for size in FAN_OUT_SIZES {
            kinds.push(Kind::FanOut { subscribers, size });
        }
    }
    for device in [Device::Streamer, Device::Forwarder] {
        for size in PROXY_SIZES {
            kinds.push(Kind::Proxied { device, size });
        }
    }
    for (workers, clients) in BROKER_SHAPES {
        for broker in [Broker::Majordomo, Broker::LoadBalancer, Broker::Queue] {
            kinds.push(Kind::Brokered {
                broker,
                workers,
                clients,
            });
        }
    }
    for pattern in [Pattern::ReqRep, Pattern::DealerRouter] {
        for transport in [Transport::Tcp, Transport::Ipc] {
            kinds.push(Kind::Latency { pattern, transport });
        }
    }
    for size in CURVE_SIZES {
        kinds.push(Kind::Throughput {
            transport: Transport::Tcp,
            size,
            curve: true,
        });
    }
    kinds.push(Kind::IdleMemory { peers: idle_peers });
    kinds.push(Kind::Connections { peers: many_peers });
    kinds
        .into_iter()
        .map(|kind| Case {
            name: kind.name(),
            stacks: kind.stacks(),
            kind,
        })
        .collect()
}
