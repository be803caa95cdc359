//! Peers restarting: a peer process is killed (SIGKILL) and started again in a loop
//! while this process, the survivor, goes on sending and receiving.
//!
//! The survivor binds a ROUTER (tcp and ipc) that echoes whatever comes, and
//! connects a DEALER to a ROUTER the peer binds on a fixed tcp port. The peer (this
//! binary again, `soak --peer ...`) echoes on that ROUTER and runs four DEALERs
//! (two over tcp, two over ipc) that keep requests in flight to the survivor. Every
//! kill drops the survivor's four accepted connections mid-stream and its DEALER's
//! connection; every start makes them again, with handshakes cut short when the kill
//! comes early.
//!
//! One iteration: one peer's life.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use purezmq::{Message, Options, Socket, SocketType};

use super::context::{Context, Dice, failed, free_port};

/// Requests a DEALER keeps in flight.
const WINDOW: u64 = 64;
/// How long a DEALER waits for a reply before it takes its requests as lost.
const LOST_AFTER: Duration = Duration::from_millis(100);
/// The peer lives this long, in milliseconds (drawn at random in the range).
const LIFETIME_MS: (u64, u64) = (100, 600);
/// Peer lives in a row in which the survivor may exchange nothing with it.
const SILENT_LIVES: u32 = 5;

fn options() -> Options {
    Options {
        linger: Some(Duration::ZERO),
        reconnect_ivl: Some(Duration::from_millis(10)),
        ..Options::default()
    }
}

/// Runs the scenario until the deadline.
pub async fn run(ctx: &Context) -> Result<(), String> {
    let router = Socket::with_options(SocketType::Router, options()).map_err(failed("ROUTER"))?;
    router
        .bind("tcp://127.0.0.1:*")
        .map_err(failed("binding the ROUTER"))?;
    let router_tcp = router.last_endpoint();
    let router_ipc = ctx.ipc("router");
    router
        .bind(&router_ipc)
        .map_err(failed("binding the ROUTER"))?;
    let peer_endpoint = format!("tcp://127.0.0.1:{}", free_port()?);
    let dealer = Socket::with_options(SocketType::Dealer, options()).map_err(failed("DEALER"))?;
    dealer
        .connect(&peer_endpoint)
        .map_err(failed("connecting the DEALER"))?;

    let echoed = Arc::new(AtomicU64::new(0));
    let replies = Arc::new(AtomicU64::new(0));
    let echo = tokio::spawn(echo(router.clone(), Arc::clone(&echoed)));
    let requests = tokio::spawn(requests(dealer.clone(), Arc::clone(&replies)));

    let mut dice = Dice::new(0x5eed);
    let mut silent = 0;
    let mut last = (0, 0);
    let mut result = Ok(());
    while ctx.running() {
        let mut peer = spawn_peer(&router_tcp, &router_ipc, &peer_endpoint)?;
        let lifetime = Duration::from_millis(dice.range(LIFETIME_MS.0, LIFETIME_MS.1));
        tokio::time::sleep(lifetime.min(ctx.remaining())).await;
        let _ = peer.kill();
        let _ = peer.wait();
        ctx.iteration();

        let now = (
            echoed.load(Ordering::Relaxed),
            replies.load(Ordering::Relaxed),
        );
        if now.0 == last.0 || now.1 == last.1 {
            silent += 1;
        } else {
            silent = 0;
        }
        last = now;
        if silent == SILENT_LIVES {
            result = Err(format!(
                "stalled: in {SILENT_LIVES} peer lives in a row the survivor's ROUTER or DEALER \
                 exchanged nothing (ROUTER echoed {}, DEALER got {} replies in all)",
                now.0, now.1
            ));
            break;
        }
    }
    echo.abort();
    requests.abort();
    let _ = echo.await;
    let _ = requests.await;
    ctx.messages(echoed.load(Ordering::Relaxed) + replies.load(Ordering::Relaxed));
    router.close().await;
    dealer.close().await;
    result
}

fn spawn_peer(router_tcp: &str, router_ipc: &str, bind: &str) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    Command::new(exe)
        .args(["--peer", router_tcp, router_ipc, bind])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting the peer process: {e}"))
}

/// Sends back whatever `router` receives (to a peer gone meanwhile, it is dropped).
async fn echo(router: Socket, echoed: Arc<AtomicU64>) {
    while let Ok(message) = router.recv().await {
        if router.send(message).await.is_err() {
            return;
        }
        echoed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Keeps up to [`WINDOW`] requests in flight through `dealer`, taking those without
/// a reply after [`LOST_AFTER`] as lost; counts replies.
async fn requests(dealer: Socket, replies: Arc<AtomicU64>) {
    let mut in_flight = 0;
    let mut sequence: u64 = 0;
    loop {
        while in_flight < WINDOW {
            sequence += 1;
            let request = Message::from_iter([sequence.to_le_bytes().to_vec()]);
            match dealer.try_send(request) {
                Ok(()) => in_flight += 1,
                Err(_) => break,
            }
        }
        match tokio::time::timeout(LOST_AFTER, dealer.recv()).await {
            Ok(Ok(_)) => {
                in_flight = in_flight.saturating_sub(1);
                replies.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(_)) => return,
            Err(_) => in_flight = 0,
        }
    }
}

/// The peer process: `soak --peer ROUTER_TCP ROUTER_IPC BIND`. Runs until killed.
pub fn peer(args: &[String]) -> Result<(), String> {
    let [router_tcp, router_ipc, bind] = args else {
        return Err("usage: soak --peer ROUTER_TCP ROUTER_IPC BIND".into());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async {
        let router =
            Socket::with_options(SocketType::Router, options()).map_err(failed("ROUTER"))?;
        // The previous peer's port may not be free again yet.
        while router.bind(bind).is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let count = Arc::new(AtomicU64::new(0));
        tokio::spawn(echo(router, Arc::clone(&count)));
        let mut dealers = Vec::new();
        for endpoint in [router_tcp, router_tcp, router_ipc, router_ipc] {
            let dealer =
                Socket::with_options(SocketType::Dealer, options()).map_err(failed("DEALER"))?;
            dealer.connect(endpoint).map_err(failed("connecting"))?;
            dealers.push(tokio::spawn(requests(dealer, Arc::clone(&count))));
        }
        for dealer in dealers {
            let _ = dealer.await;
        }
        Ok(())
    })
}
