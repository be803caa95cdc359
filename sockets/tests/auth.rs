//! The ready-made ZAP handler, `auth::Authenticator`, over tcp: IP allow and deny
//! lists, PLAIN with a password file, CURVE with a directory of client certificates,
//! ZAP domains, and the authenticator served at inproc://zeromq.zap.01.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use purezmq::auth::{ANY_DOMAIN, Authenticator, CurveKeys, PlainPasswords};
use purezmq::curve::{Certificate, KeyPair};
use purezmq::monitor::{EventKind, Monitor};
use purezmq::{Error, Options, Security, Socket, SocketType};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

/// Serializes the tests that bind inproc://zeromq.zap.01 or rely on nothing being
/// bound there: the name is the process's.
static ZAP_NAME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How the next handshake on the socket `events` watches ends: `Ok`, or the ZAP
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

fn refused(reason: &str) -> Result<(), (u16, String)> {
    Err((400, reason.to_owned()))
}

/// A server socket of `security` with ZAP domain `domain`, bound on tcp, asking
/// `authenticator` (or, with none, whatever is bound at inproc://zeromq.zap.01).
fn server(security: Security, domain: &str, authenticator: Option<&Authenticator>) -> Socket {
    let options = Options {
        security,
        zap_domain: domain.into(),
        ..Options::default()
    };
    let server = Socket::with_options(SocketType::Pull, options).unwrap();
    if let Some(authenticator) = authenticator {
        server.set_zap_handler(authenticator.clone());
    }
    server.bind("tcp://127.0.0.1:*").unwrap();
    server
}

/// Connects a client of `security` to `server` and tells how its handshake ended;
/// when admitted, checks that a message gets through.
async fn try_client(server: &Socket, security: Security) -> Result<(), (u16, String)> {
    let mut events = server.monitor();
    let options = Options {
        security,
        ..Options::default()
    };
    let client = Socket::with_options(SocketType::Push, options).unwrap();
    client.connect(&server.last_endpoint()).unwrap();
    let ended = outcome(&mut events).await;
    if ended.is_ok() {
        client.send("hello").await.unwrap();
        let got = timeout(WAIT, server.recv()).await.unwrap().unwrap();
        assert_eq!(got.frames(), ["hello"]);
    }
    ended
}

fn plain(user: &str, password: &str) -> Security {
    Security::PlainClient {
        username: Bytes::copy_from_slice(user.as_bytes()),
        password: Bytes::copy_from_slice(password.as_bytes()),
    }
}

/// A fresh directory under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("purezmq-auth-{name}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn an_allowlist_admits_listed_addresses_only() {
    let authenticator = Authenticator::new();
    authenticator.allow([10, 9, 9, 9]);
    let server = server(Security::Null, "global", Some(&authenticator));
    assert_eq!(
        try_client(&server, Security::Null).await,
        refused("Address not allowed")
    );

    // The policy changes while the socket runs.
    authenticator.allow([127, 0, 0, 1]);
    assert_eq!(try_client(&server, Security::Null).await, Ok(()));
}

#[tokio::test]
async fn a_denylist_refuses_listed_addresses() {
    let authenticator = Authenticator::new();
    authenticator.deny([10, 9, 9, 9]);
    let server = server(Security::Null, "global", Some(&authenticator));
    assert_eq!(try_client(&server, Security::Null).await, Ok(()));

    authenticator.deny([127, 0, 0, 1]);
    assert_eq!(
        try_client(&server, Security::Null).await,
        refused("Address denied")
    );
}

#[tokio::test]
async fn an_allowed_address_still_needs_its_plain_password() {
    let authenticator = Authenticator::new();
    authenticator
        .allow([127, 0, 0, 1])
        .configure_plain(ANY_DOMAIN, [("admin", "secret")]);
    let server = server(Security::PlainServer, "", Some(&authenticator));
    assert_eq!(
        try_client(&server, plain("admin", "guess")).await,
        refused("Invalid password")
    );
    assert_eq!(try_client(&server, plain("admin", "secret")).await, Ok(()));
}

#[tokio::test]
async fn plain_checks_passwords_from_a_password_file() {
    let dir = TempDir::new("passwords");
    let file = dir.0.join("passwords");
    std::fs::write(
        &file,
        "# who may log in\nadmin=secret\n\nguest=open sesame\n",
    )
    .unwrap();
    let authenticator = Authenticator::new();
    authenticator.configure_plain(ANY_DOMAIN, PlainPasswords::load(&file).unwrap());
    let server = server(Security::PlainServer, "", Some(&authenticator));

    assert_eq!(try_client(&server, plain("admin", "secret")).await, Ok(()));
    assert_eq!(
        try_client(&server, plain("guest", "open sesame")).await,
        Ok(())
    );
    assert_eq!(
        try_client(&server, plain("admin", "open sesame")).await,
        refused("Invalid password")
    );
    assert_eq!(
        try_client(&server, plain("root", "secret")).await,
        refused("Invalid username")
    );
}

#[tokio::test]
async fn a_missing_password_file_is_an_error_naming_it() {
    let error = PlainPasswords::load("/nonexistent/purezmq/passwords").unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/purezmq/passwords"),
        "{error}"
    );
}

#[tokio::test]
async fn curve_admits_the_keys_in_a_certificate_directory() {
    let dir = TempDir::new("keys");
    let alice = KeyPair::generate();
    Certificate::new(alice.clone())
        .with_metadata("name", "alice")
        .save(&dir.0, "alice")
        .unwrap();
    let server_keys = KeyPair::generate();
    let authenticator = Authenticator::new();
    authenticator.configure_curve(ANY_DOMAIN, CurveKeys::from_directory(&dir.0).unwrap());
    let server = server(
        Security::CurveServer {
            keypair: server_keys.clone(),
        },
        "",
        Some(&authenticator),
    );
    let client = |keypair: &KeyPair| Security::CurveClient {
        keypair: keypair.clone(),
        server_key: *server_keys.public(),
    };

    assert_eq!(try_client(&server, client(&alice)).await, Ok(()));
    let stranger = KeyPair::generate();
    assert_eq!(
        try_client(&server, client(&stranger)).await,
        refused("Unknown key")
    );

    // CurveKeys::Any: encryption without client authentication.
    authenticator.configure_curve(ANY_DOMAIN, CurveKeys::Any);
    assert_eq!(try_client(&server, client(&stranger)).await, Ok(()));
}

#[tokio::test]
async fn a_domain_uses_its_own_settings_else_those_for_any_domain() {
    let authenticator = Authenticator::new();
    authenticator.configure_plain("special", [("admin", "special secret")]);
    let special = server(Security::PlainServer, "special", Some(&authenticator));
    let other = server(Security::PlainServer, "other", Some(&authenticator));
    assert_eq!(
        try_client(&special, plain("admin", "special secret")).await,
        Ok(())
    );
    assert_eq!(
        try_client(&other, plain("admin", "special secret")).await,
        refused("Invalid domain")
    );

    authenticator.configure_plain(ANY_DOMAIN, [("admin", "secret")]);
    assert_eq!(try_client(&other, plain("admin", "secret")).await, Ok(()));
    assert_eq!(
        try_client(&special, plain("admin", "secret")).await,
        refused("Invalid password")
    );
}

#[tokio::test]
async fn null_with_a_domain_passes_after_the_address_check() {
    let authenticator = Authenticator::new();
    // No PLAIN or CURVE settings at all: NULL still passes.
    let server = server(Security::Null, "global", Some(&authenticator));
    assert_eq!(try_client(&server, Security::Null).await, Ok(()));
}

#[tokio::test]
async fn the_authenticator_served_at_inproc_answers_for_sockets_without_a_handler() {
    let _name = ZAP_NAME.lock().await;
    let authenticator = Authenticator::new();
    authenticator.configure_plain(ANY_DOMAIN, [("admin", "secret")]);
    let zap = authenticator.serve_inproc().unwrap();
    let server = server(Security::PlainServer, "", None);

    assert_eq!(try_client(&server, plain("admin", "secret")).await, Ok(()));
    assert_eq!(
        try_client(&server, plain("admin", "guess")).await,
        refused("Invalid password")
    );
    // A change made through another handle applies to the served one.
    authenticator
        .clone()
        .configure_plain(ANY_DOMAIN, [("admin", "guess")]);
    assert_eq!(try_client(&server, plain("admin", "guess")).await, Ok(()));

    // Served once only: the name is taken.
    assert!(matches!(
        Authenticator::new().serve_inproc(),
        Err(Error::InprocInUse(_))
    ));

    // Stopped, nothing answers at inproc://zeromq.zap.01 and every peer is admitted,
    // as libzmq without ZAP_ENFORCE_DOMAIN.
    zap.stop();
    assert_eq!(
        try_client(&server, plain("admin", "anything")).await,
        Ok(())
    );
}

#[tokio::test]
async fn a_served_authenticator_refuses_by_address_for_null_sockets_with_a_domain() {
    let _name = ZAP_NAME.lock().await;
    let authenticator = Authenticator::new();
    authenticator.deny([127, 0, 0, 1]);
    let _zap = authenticator.serve_inproc().unwrap();

    let with_domain = server(Security::Null, "global", None);
    assert_eq!(
        try_client(&with_domain, Security::Null).await,
        refused("Address denied")
    );
    // Without a domain a NULL socket does not ask, as in libzmq.
    let without_domain = server(Security::Null, "", None);
    assert_eq!(try_client(&without_domain, Security::Null).await, Ok(()));
}
