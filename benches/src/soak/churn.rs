//! Connect/disconnect churn: pairs of sockets made, joined, used for a few messages
//! and closed, over tcp, ipc and inproc, for every pattern; and two long-lived
//! DEALERs connected to endpoints whose binder comes and goes.
//!
//! One iteration: one pair's life, or one binder's.

use std::time::Duration;

use purezmq::{Message, Options, Socket, SocketType};

use super::context::{Context, failed, free_port};

/// Messages each way per pair.
const EXCHANGES: usize = 3;

/// (binder, connecter) types.
const PAIRS: [(SocketType, SocketType); 5] = [
    (SocketType::Rep, SocketType::Req),
    (SocketType::Router, SocketType::Dealer),
    (SocketType::Pull, SocketType::Push),
    (SocketType::Pub, SocketType::Sub),
    (SocketType::Pair, SocketType::Pair),
];

const TRANSPORTS: [&str; 3] = ["tcp", "ipc", "inproc"];

/// Options for every socket here: no lingering, quick reconnects.
fn options() -> Options {
    Options {
        linger: Some(Duration::ZERO),
        reconnect_ivl: Some(Duration::from_millis(10)),
        ..Options::default()
    }
}

fn socket(socket_type: SocketType) -> Result<Socket, String> {
    Socket::with_options(socket_type, options()).map_err(failed("making a socket"))
}

/// Runs the scenario until the deadline.
pub async fn run(ctx: &Context) -> Result<(), String> {
    // The endpoints whose binder comes and goes, each with a DEALER that stays.
    let fixed = [
        format!("tcp://127.0.0.1:{}", free_port()?),
        ctx.ipc("fixed"),
    ];
    let mut stayers = Vec::new();
    for endpoint in &fixed {
        let dealer = socket(SocketType::Dealer)?;
        dealer
            .connect(endpoint)
            .map_err(failed("connecting the staying DEALER"))?;
        stayers.push(dealer);
    }

    let mut round: u64 = 0;
    while ctx.running() {
        for transport in TRANSPORTS {
            for (i, &(bound, connecting)) in PAIRS.iter().enumerate() {
                let endpoint = match transport {
                    "tcp" => "tcp://127.0.0.1:*".to_owned(),
                    "ipc" => ctx.ipc(&format!("pair-{round}-{i}")),
                    _ => format!("inproc://soak-churn-{round}-{i}"),
                };
                // ipc and inproc also connect before the bind every other round.
                let connect_first = transport != "tcp" && round % 2 == 1;
                let what = format!("{transport} {bound:?}/{connecting:?} pair");
                ctx.within(
                    &what,
                    one_pair(ctx, bound, connecting, &endpoint, connect_first, round),
                )
                .await??;
                ctx.iteration();
            }
        }
        let which = (round % 2) as usize;
        let what = format!("binder coming back at {}", fixed[which]);
        ctx.within(
            &what,
            comes_and_goes(ctx, &stayers[which], &fixed[which], round),
        )
        .await??;
        ctx.iteration();
        round += 1;
    }
    for stayer in stayers {
        stayer.close().await;
    }
    Ok(())
}

/// One pair: made, joined, a few messages, closed (in either order).
async fn one_pair(
    ctx: &Context,
    bound: SocketType,
    connecting: SocketType,
    endpoint: &str,
    connect_first: bool,
    round: u64,
) -> Result<(), String> {
    let binder = socket(bound)?;
    let connecter = socket(connecting)?;
    if connecting == SocketType::Sub {
        connecter.subscribe("").map_err(failed("subscribing"))?;
    }
    if connect_first {
        connecter.connect(endpoint).map_err(failed("connecting"))?;
        binder.bind(endpoint).map_err(failed("binding"))?;
    } else {
        binder.bind(endpoint).map_err(failed("binding"))?;
        connecter
            .connect(&binder.last_endpoint())
            .map_err(failed("connecting"))?;
    }
    exchange(ctx, &binder, &connecter).await?;
    if round.is_multiple_of(2) {
        binder.close().await;
        connecter.close().await;
    } else {
        connecter.close().await;
        binder.close().await;
    }
    Ok(())
}

/// A few messages between `binder` and `connecter`, as their pattern allows.
async fn exchange(ctx: &Context, binder: &Socket, connecter: &Socket) -> Result<(), String> {
    let sent = failed("sending");
    let received = failed("receiving");
    match binder.socket_type() {
        SocketType::Rep => {
            for _ in 0..EXCHANGES {
                connecter.send("ping").await.map_err(&sent)?;
                let request = binder.recv().await.map_err(&received)?;
                binder.send(request).await.map_err(&sent)?;
                connecter.recv().await.map_err(&received)?;
            }
        }
        SocketType::Router => {
            for _ in 0..EXCHANGES {
                connecter.send("ping").await.map_err(&sent)?;
                let request = binder.recv().await.map_err(&received)?;
                binder.send(request).await.map_err(&sent)?;
                connecter.recv().await.map_err(&received)?;
            }
        }
        SocketType::Pull => {
            for _ in 0..EXCHANGES {
                connecter.send("ping").await.map_err(&sent)?;
            }
            for _ in 0..EXCHANGES {
                binder.recv().await.map_err(&received)?;
            }
        }
        SocketType::Pub => {
            // The subscription takes a moment to arrive: publish until one gets through.
            loop {
                binder.send("news").await.map_err(&sent)?;
                let wait = tokio::time::timeout(Duration::from_millis(2), connecter.recv());
                if let Ok(message) = wait.await {
                    message.map_err(&received)?;
                    break;
                }
            }
            for _ in 0..EXCHANGES {
                binder.send("news").await.map_err(&sent)?;
            }
            for _ in 0..EXCHANGES {
                connecter.recv().await.map_err(&received)?;
            }
        }
        _ => {
            for _ in 0..EXCHANGES {
                connecter.send("ping").await.map_err(&sent)?;
                binder.recv().await.map_err(&received)?;
                binder.send("pong").await.map_err(&sent)?;
                connecter.recv().await.map_err(&received)?;
            }
        }
    }
    ctx.messages(2 * EXCHANGES as u64);
    Ok(())
}

/// A ROUTER binds `endpoint`, answers the DEALER that stays connected there, and
/// closes.
async fn comes_and_goes(
    ctx: &Context,
    stayer: &Socket,
    endpoint: &str,
    round: u64,
) -> Result<(), String> {
    let router = socket(SocketType::Router)?;
    // The previous binder's listener may take a moment to let the address go.
    while let Err(e) = router.bind(endpoint) {
        if !ctx.running() {
            return Err(format!("binding {endpoint} again: {e}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let request = Message::from_iter([format!("hello {round}")]);
    stayer.send(request).await.map_err(failed("sending"))?;
    let request = router.recv().await.map_err(failed("receiving"))?;
    router.send(request).await.map_err(failed("replying"))?;
    let reply = stayer.recv().await.map_err(failed("receiving the reply"))?;
    if reply.frames() != [format!("hello {round}").as_bytes()] {
        return Err(format!(
            "the DEALER at {endpoint} got {:?}, not the reply to round {round}",
            reply.frames()
        ));
    }
    ctx.messages(2);
    router.close().await;
    Ok(())
}
