//! The ZAP seam: a handler of the socket's own, or one bound at
//! inproc://zeromq.zap.01 (a REP or ROUTER speaking RFC 27), admits or refuses PLAIN
//! clients.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use purezmq::monitor::{EventKind, Monitor};
use purezmq::zap::{AuthReply, ZAP_ENDPOINT, ZapRequest};
use purezmq::{Message, Options, Security, Socket, SocketType};
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

fn client(password: &'static str) -> Socket {
    let options = Options {
        security: Security::PlainClient {
            username: Bytes::from_static(b"admin"),
            password: Bytes::from_static(password.as_bytes()),
        },
        ..Options::default()
    };
    Socket::with_options(SocketType::Req, options).unwrap()
}

fn server() -> Socket {
    let options = Options {
        security: Security::PlainServer,
        ..Options::default()
    };
    let server = Socket::with_options(SocketType::Rep, options).unwrap();
    server.set_zap_handler(|request: ZapRequest| async move {
        assert_eq!(request.mechanism.to_string(), "PLAIN");
        assert_eq!(request.address, "127.0.0.1");
        match request.credentials.as_slice() {
            [user, password] if user == "admin" && password == "secret" => {
                AuthReply::accept("admin")
            }
            _ => AuthReply::deny(400, "wrong user name or password"),
        }
    });
    server
}

#[tokio::test]
async fn the_handler_admits_the_right_password() {
    let server = server();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = client("secret");
    client.connect(&server.last_endpoint()).unwrap();
    client.send("hello").await.unwrap();
    let request = timeout(WAIT, server.recv()).await.unwrap().unwrap();
    assert_eq!(request.frames(), ["hello"]);
}

#[tokio::test]
async fn the_handler_refuses_a_wrong_password_with_a_monitor_event() {
    let server = server();
    let mut events = server.monitor();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = client("guess");
    let mut client_events = client.monitor();
    client.connect(&server.last_endpoint()).unwrap();
    client.send("hello").await.unwrap();

    let refused = timeout(WAIT, async {
        loop {
            let event = events.next().await.unwrap();
            if let EventKind::HandshakeFailedAuth { status_code, .. } = event.kind {
                break status_code;
            }
        }
    });
    assert_eq!(refused.await.unwrap(), 400);
    let told = timeout(WAIT, async {
        loop {
            let event = client_events.next().await.unwrap();
            if let EventKind::HandshakeFailedAuth { reason, .. } = event.kind {
                break reason;
            }
        }
    });
    assert!(told.await.unwrap().contains("400"));
    assert!(
        timeout(Duration::from_millis(200), server.recv())
            .await
            .is_err(),
        "no request from a refused client"
    );
}

// ---- a handler bound at inproc://zeromq.zap.01 ----

/// Serializes the tests that bind inproc://zeromq.zap.01: the name is the process's.
static ZAP_NAME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A PLAIN server with ZAP domain "global", routing id "server" and no handler of
/// its own, bound on tcp.
fn server_without_handler() -> Socket {
    let options = Options {
        security: Security::PlainServer,
        zap_domain: "global".into(),
        routing_id: Bytes::from_static(b"server"),
        ..Options::default()
    };
    let server = Socket::with_options(SocketType::Rep, options).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    server
}

/// How the next handshake on the socket `events` watches ends: `Ok` or the ZAP
/// status code and text.
async fn outcome(events: &mut Monitor) -> Result<(), (u16, String)> {
    timeout(WAIT, async {
        loop {
            match events.next().await.unwrap().kind {
                EventKind::HandshakeSucceeded => break Ok(()),
                EventKind::HandshakeFailedAuth {
                    status_code,
                    reason,
                } => break Err((status_code, reason)),
                _ => {}
            }
        }
    })
    .await
    .expect("a handshake ends")
}

fn frames(texts: &[&str]) -> Message {
    texts
        .iter()
        .map(|t| Bytes::copy_from_slice(t.as_bytes()))
        .collect()
}

/// A test's handler bound at inproc://zeromq.zap.01; dropping it unbinds the name and
/// stops its task.
struct Handler {
    socket: Socket,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Handler {
    fn drop(&mut self) {
        let _ = self.socket.unbind(ZAP_ENDPOINT);
        self.task.abort();
    }
}

/// Answers like a ZAP handler would on a REP socket: `answer` turns the request's
/// frames into the reply's. Every request is also sent to the returned channel.
fn rep_handler(
    answer: impl Fn(&[Bytes]) -> Message + Send + 'static,
) -> (Handler, mpsc::UnboundedReceiver<Vec<Bytes>>) {
    let rep = Socket::new(SocketType::Rep);
    rep.bind(ZAP_ENDPOINT).unwrap();
    let (seen, requests) = mpsc::unbounded_channel();
    let socket = rep.clone();
    let task = tokio::spawn(async move {
        while let Ok(request) = socket.recv().await {
            let reply = answer(request.frames());
            let _ = seen.send(request.into_frames());
            if socket.send(reply).await.is_err() {
                break;
            }
        }
    });
    (Handler { socket: rep, task }, requests)
}

/// Admits user admin with password secret; refuses other passwords with 400.
fn password_check(request: &[Bytes]) -> Message {
    let id = std::str::from_utf8(&request[1]).unwrap();
    match &request[6..] {
        [user, password] if user == "admin" && password == "secret" => {
            frames(&["1.0", id, "200", "OK", "admin", ""])
        }
        _ => frames(&["1.0", id, "400", "wrong password", "", ""]),
    }
}

#[tokio::test]
async fn a_rep_socket_at_zeromq_zap_01_answers_for_sockets_without_a_handler() {
    let _name = ZAP_NAME.lock().await;
    let (_handler, mut requests) = rep_handler(password_check);
    let server = server_without_handler();
    let mut events = server.monitor();

    let good = client("secret");
    good.connect(&server.last_endpoint()).unwrap();
    assert_eq!(outcome(&mut events).await, Ok(()));
    good.send("hello").await.unwrap();
    let request = timeout(WAIT, server.recv()).await.unwrap().unwrap();
    assert_eq!(request.frames(), ["hello"]);
    let asked = requests.recv().await.unwrap();
    assert_eq!(asked[0], "1.0");
    // The identity frame is the asking socket's own routing id, as libzmq sends it.
    assert_eq!(asked[2..5], ["global", "127.0.0.1", "server"]);
    assert_eq!(asked[5..], ["PLAIN", "admin", "secret"]);

    let bad = client("guess");
    bad.connect(&server.last_endpoint()).unwrap();
    assert_eq!(
        outcome(&mut events).await,
        Err((400, "wrong password".to_owned()))
    );
}

#[tokio::test]
async fn status_300_from_the_handler_drops_the_peer_without_telling_it() {
    let _name = ZAP_NAME.lock().await;
    let (_handler, _requests) = rep_handler(|request| {
        let id = std::str::from_utf8(&request[1]).unwrap();
        frames(&["1.0", id, "300", "try later", "", ""])
    });
    let server = server_without_handler();
    let mut events = server.monitor();
    let client = client("secret");
    let mut client_events = client.monitor();
    client.connect(&server.last_endpoint()).unwrap();

    assert_eq!(
        outcome(&mut events).await,
        Err((300, "try later".to_owned()))
    );
    // The client hears no ERROR: its handshakes just end, without an auth failure.
    let told = timeout(Duration::from_millis(300), async {
        loop {
            if let EventKind::HandshakeFailedAuth { .. } = client_events.next().await.unwrap().kind
            {
                break;
            }
        }
    });
    assert!(told.await.is_err(), "no ERROR reaches the client on 300");
}

#[tokio::test]
async fn a_router_at_zeromq_zap_01_may_answer_out_of_order() {
    let _name = ZAP_NAME.lock().await;
    let router = Socket::new(SocketType::Router);
    router.bind(ZAP_ENDPOINT).unwrap();
    let socket = router.clone();
    let task = tokio::spawn(async move {
        // Take two requests, then answer the later one first.
        let first = socket.recv().await.unwrap().into_frames();
        let second = socket.recv().await.unwrap().into_frames();
        for request in [second, first] {
            // Envelope: routing id and delimiter; then the request.
            let mut reply: Message = request[..2].iter().cloned().collect();
            for frame in password_check(&request[2..]).into_frames() {
                reply.push(frame);
            }
            socket.send(reply).await.unwrap();
        }
    });
    let _handler = Handler {
        socket: router,
        task,
    };
    let server = server_without_handler();
    let mut events = server.monitor();
    let good = client("secret");
    let bad = client("guess");
    let mut bad_events = bad.monitor();
    good.connect(&server.last_endpoint()).unwrap();
    bad.connect(&server.last_endpoint()).unwrap();

    let mut outcomes = vec![outcome(&mut events).await, outcome(&mut events).await];
    outcomes.sort();
    assert_eq!(outcomes, [Ok(()), Err((400, "wrong password".to_owned()))]);
    // Each reply reached the connection that asked: the refusal went to `bad`.
    let (status_code, _) = outcome(&mut bad_events).await.unwrap_err();
    assert_eq!(status_code, 400);
    good.send("hello").await.unwrap();
    let request = timeout(WAIT, server.recv()).await.unwrap().unwrap();
    assert_eq!(request.frames(), ["hello"]);
}

#[tokio::test]
async fn a_reply_that_breaks_rfc_27_refuses_the_peer_with_500() {
    let _name = ZAP_NAME.lock().await;
    let malformed: [fn(&str) -> Message; 4] = [
        |id| frames(&["1.0", id, "200", "OK"]),
        |id| frames(&["1.0", id, "999", "OK", "admin", ""]),
        |id| frames(&["2.0", id, "200", "OK", "admin", ""]),
        |_| frames(&["garbage"]),
    ];
    for reply in malformed {
        // Each case binds a handler anew: the sockets asking find the new one.
        let (handler, _requests) =
            rep_handler(move |request| reply(std::str::from_utf8(&request[1]).unwrap()));
        let server = server_without_handler();
        let mut events = server.monitor();
        let client = client("secret");
        client.connect(&server.last_endpoint()).unwrap();
        let (status_code, _) = outcome(&mut events).await.unwrap_err();
        assert_eq!(status_code, 500);
        drop((client, server, handler));
    }
}

#[tokio::test]
async fn a_handler_of_its_own_outranks_the_one_at_zeromq_zap_01() {
    let _name = ZAP_NAME.lock().await;
    let (_handler, _requests) = rep_handler(|request| {
        let id = std::str::from_utf8(&request[1]).unwrap();
        frames(&["1.0", id, "400", "nobody", "", ""])
    });
    let server = server();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let mut events = server.monitor();
    let client = client("secret");
    client.connect(&server.last_endpoint()).unwrap();
    assert_eq!(outcome(&mut events).await, Ok(()));
}

#[tokio::test]
async fn without_any_handler_every_peer_is_admitted() {
    let _name = ZAP_NAME.lock().await;
    let server = server_without_handler();
    let mut events = server.monitor();
    let client = client("anything");
    client.connect(&server.last_endpoint()).unwrap();
    assert_eq!(outcome(&mut events).await, Ok(()));
}

#[tokio::test]
async fn a_handler_that_goes_away_unanswered_refuses_with_500() {
    let _name = ZAP_NAME.lock().await;
    let silent = Socket::new(SocketType::Rep);
    silent.bind(ZAP_ENDPOINT).unwrap();
    let server = server_without_handler();
    let mut events = server.monitor();
    let client = client("secret");
    client.connect(&server.last_endpoint()).unwrap();

    // The request arrives and is never answered; then the handler closes.
    let request = timeout(WAIT, silent.recv()).await.unwrap().unwrap();
    assert_eq!(request.frames()[5..6], ["PLAIN"]);
    drop(silent);
    let (status_code, _) = outcome(&mut events).await.unwrap_err();
    assert_eq!(status_code, 500);
}
