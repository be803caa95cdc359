//! Endpoint forms of each transport, and cancel-safety of `recv`.

use std::time::Duration;

use purezmq::{Error, Options, Socket, SocketType};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

async fn exchange(bind: &str, connect: impl FnOnce(&str) -> String, options: Options) {
    let pull = Socket::with_options(SocketType::Pull, options.clone()).unwrap();
    pull.bind(bind).unwrap();
    let push = Socket::with_options(SocketType::Push, options).unwrap();
    let target = connect(&pull.last_endpoint());
    push.connect(&target).unwrap();
    push.send("over").await.unwrap();
    let got = timeout(WAIT, pull.recv())
        .await
        .expect("no message")
        .unwrap();
    assert_eq!(got.frames(), ["over"], "bind {bind}, connect {target}");
}

fn port_of(endpoint: &str) -> &str {
    endpoint.rsplit(':').next().unwrap()
}

#[tokio::test]
async fn tcp_wildcard_address_and_port() {
    exchange(
        "tcp://*:*",
        |bound| {
            assert!(bound.starts_with("tcp://0.0.0.0:"), "{bound}");
            format!("tcp://127.0.0.1:{}", port_of(bound))
        },
        Options::default(),
    )
    .await;
}

#[tokio::test]
async fn tcp_host_names() {
    exchange(
        "tcp://127.0.0.1:*",
        |bound| format!("tcp://localhost:{}", port_of(bound)),
        Options::default(),
    )
    .await;
}

#[tokio::test]
async fn tcp_ipv6() {
    let options = Options {
        ipv6: true,
        ..Options::default()
    };
    exchange(
        "tcp://[::1]:*",
        |bound| {
            assert!(bound.starts_with("tcp://[::1]:"), "{bound}");
            bound.to_owned()
        },
        options,
    )
    .await;
}

#[tokio::test]
async fn tcp_source_address() {
    exchange(
        "tcp://127.0.0.1:*",
        |bound| format!("tcp://127.0.0.1:0;127.0.0.1:{}", port_of(bound)),
        Options::default(),
    )
    .await;
}

#[tokio::test]
async fn ipc_paths_abstract_names_and_wildcards() {
    let dir = std::env::temp_dir().join(format!("purezmq-ipc-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = format!("ipc://{}/feed", dir.display());
    exchange(&path, str::to_owned, Options::default()).await;
    // A path left over from an earlier socket is taken over, as libzmq does.
    exchange(&path, str::to_owned, Options::default()).await;
    exchange(
        &format!("ipc://@purezmq-abstract-{}", std::process::id()),
        str::to_owned,
        Options::default(),
    )
    .await;
    let socket = Socket::new(SocketType::Pull);
    socket.bind("ipc://*").unwrap();
    let bound = socket.last_endpoint();
    assert!(bound.starts_with("ipc:///"), "{bound}");
    let file = std::path::PathBuf::from(&bound["ipc://".len()..]);
    assert!(file.exists());
    drop(socket);
    assert!(
        !file.exists() && !file.parent().unwrap().exists(),
        "ipc://* cleans up after itself"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn inproc_connect_before_bind() {
    let push = Socket::new(SocketType::Push);
    push.connect("inproc://later").unwrap();
    push.send("queued before the bind").await.unwrap();
    let pull = Socket::new(SocketType::Pull);
    pull.bind("inproc://later").unwrap();
    let got = timeout(WAIT, pull.recv()).await.unwrap().unwrap();
    assert_eq!(got.frames(), ["queued before the bind"]);
}

#[tokio::test]
async fn inproc_names_are_exclusive() {
    let a = Socket::new(SocketType::Pull);
    a.bind("inproc://taken").unwrap();
    let b = Socket::new(SocketType::Pull);
    assert!(matches!(
        b.bind("inproc://taken"),
        Err(Error::InprocInUse(_))
    ));
    drop(a);
    b.bind("inproc://taken").unwrap();
}

#[tokio::test]
async fn bad_endpoints_quote_the_text() {
    let socket = Socket::new(SocketType::Pull);
    let error = socket.bind("tcp://127.0.0.1").unwrap_err();
    assert!(error.to_string().contains("\"tcp://127.0.0.1\""), "{error}");
    let error = socket.connect("udp://x:1").unwrap_err();
    assert!(error.to_string().contains("\"udp://x:1\""), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_recv_loses_no_message() {
    let pull = Socket::new(SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = Socket::new(SocketType::Push);
    push.connect(&pull.last_endpoint()).unwrap();
    const N: u32 = 20_000;
    let sender = tokio::spawn(async move {
        for i in 0..N {
            push.send(i.to_string()).await.unwrap();
            if i % 1000 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        push
    });
    let mut next = 0;
    while next < N {
        // A very short timeout cancels many receives part-way.
        if let Ok(message) = timeout(Duration::from_micros(50), pull.recv()).await {
            assert_eq!(message.unwrap().frames()[0], next.to_string());
            next += 1;
        }
    }
    drop(sender.await.unwrap());
}

#[tokio::test]
async fn try_send_gives_the_message_back() {
    let push = Socket::new(SocketType::Push);
    let refused = push.try_send("nobody to take it").unwrap_err();
    assert!(matches!(refused.error, Error::WouldBlock));
    assert_eq!(refused.message.frames(), ["nobody to take it"]);
}

#[tokio::test]
async fn timeouts_are_errors_that_name_the_option() {
    let options = Options {
        rcvtimeo: Some(Duration::from_millis(20)),
        ..Options::default()
    };
    let pull = Socket::with_options(SocketType::Pull, options).unwrap();
    let error = pull.recv().await.unwrap_err();
    assert!(matches!(error, Error::Timeout(_)));
    assert!(error.to_string().contains("RCVTIMEO"), "{error}");
}
