//! Titanic's store across restarts and crashes, and the dispatcher after a restart.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use purezmq_broker::titanic::{
    Dispatcher, DispatcherConfig, Lookup, RequestError, Requester, Status, Store, Uuid, service,
};

/// Set in the child process of `an_answered_request_survives_kill_9`: the store's
/// directory.
const CHILD_DIR: &str = "PUREZMQ_TITANIC_CRASH_CHILD_DIR";

fn frames(list: &[&str]) -> Vec<Bytes> {
    list.iter()
        .map(|f| Bytes::copy_from_slice(f.as_bytes()))
        .collect()
}

#[test]
fn pending_requests_and_replies_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second, third) = {
        let store = Store::open(dir.path(), 100).unwrap();
        let first = store.accept(b"echo", &frames(&["1"])).unwrap();
        let second = store.accept(b"echo", &frames(&["2", "two"])).unwrap();
        let third = store.accept(b"other", &frames(&["3"])).unwrap();
        store.complete(second, &frames(&["done"])).unwrap();
        (first, second, third)
    };

    let store = Store::open(dir.path(), 100).unwrap();
    let pending = store.pending().unwrap();
    let order: Vec<Uuid> = pending.iter().map(|p| p.uuid).collect();
    assert_eq!(order, [first, third]);
    assert_eq!(pending[1].service, "other");
    assert_eq!(pending[1].body, frames(&["3"]));
    assert_eq!(
        store.reply(second).unwrap(),
        Lookup::Ready(frames(&["done"]))
    );

    // New requests go after the old ones.
    let fourth = store.accept(b"echo", &frames(&["4"])).unwrap();
    let order: Vec<Uuid> = store.pending().unwrap().iter().map(|p| p.uuid).collect();
    assert_eq!(order, [first, third, fourth]);

    store.close(first).unwrap();
    drop(store);
    let store = Store::open(dir.path(), 100).unwrap();
    assert_eq!(store.reply(first).unwrap(), Lookup::Unknown);
    assert_eq!(store.pending_count().unwrap(), 2);
}

/// The child side of `an_answered_request_survives_kill_9`: does nothing unless the
/// parent set [`CHILD_DIR`]. Then it accepts requests through `titanic.request` as fast
/// as it can, printing each "200" reply, until it is killed.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let store = Store::open(dir.as_ref(), 1_000_000).unwrap();
    for i in 0u64.. {
        let reply = service::request(&store, &[Bytes::from("echo"), Bytes::from(i.to_string())]);
        assert_eq!(Status::parse(&reply[0]).unwrap(), Status::Ok);
        println!("ACCEPTED {}", String::from_utf8_lossy(&reply[1]));
    }
}

#[test]
fn an_answered_request_survives_kill_9() {
    const WANTED: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let mut accepted = Vec::new();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        let line = line.unwrap();
        // libtest may print "test crash_child ... " on the same line first.
        if let Some((_, uuid)) = line.split_once("ACCEPTED ") {
            accepted.push(Uuid::parse(uuid.as_bytes()).unwrap());
            if accepted.len() == WANTED {
                break;
            }
        }
    }
    // SIGKILL on Unix: no destructor, no flush, no clean close of the database.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(accepted.len(), WANTED, "the child stopped early");

    let store = Store::open(dir.path(), 1_000_000).unwrap();
    let pending = store.pending().unwrap();
    // Every request answered with 200 is there, in order; the child may have stored a
    // few more before the signal landed.
    assert!(pending.len() >= WANTED);
    for (i, (stored, answered)) in pending.iter().zip(&accepted).enumerate() {
        assert_eq!(stored.uuid, *answered);
        assert_eq!(stored.service, "echo");
        assert_eq!(stored.body, frames(&[&i.to_string()]));
        assert_eq!(store.reply(*answered).unwrap(), Lookup::Pending);
    }
}

/// Echoes each request, failing the first two calls; remembers the order of calls.
struct FlakyEcho {
    failures: Mutex<u32>,
    calls: Mutex<Vec<Bytes>>,
}

impl Requester for FlakyEcho {
    async fn request(&self, _service: &[u8], body: Vec<Bytes>) -> Result<Vec<Bytes>, RequestError> {
        self.calls.lock().unwrap().push(body[0].clone());
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(RequestError::Timeout(Duration::from_secs(1)));
        }
        Ok(body)
    }
}

#[tokio::test]
async fn after_a_restart_the_dispatcher_delivers_what_was_pending_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let uuids: Vec<Uuid> = {
        let store = Store::open(dir.path(), 100).unwrap();
        (0..5)
            .map(|i| store.accept(b"echo", &frames(&[&i.to_string()])).unwrap())
            .collect()
    };

    let store = Store::open(dir.path(), 100).unwrap();
    let requester = FlakyEcho {
        failures: Mutex::new(2),
        calls: Mutex::new(Vec::new()),
    };
    let mut dispatcher = Dispatcher::new(
        store.clone(),
        DispatcherConfig {
            max_in_flight: 1,
            retry_min: Duration::from_millis(5),
            retry_max: Duration::from_millis(20),
            ..DispatcherConfig::default()
        },
    );
    let delivered = async {
        while store.pending_count().unwrap() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        () = dispatcher.run(&requester) => unreachable!("the dispatcher runs forever"),
        result = tokio::time::timeout(Duration::from_secs(20), delivered) => {
            result.expect("the pending requests were not delivered");
        }
    }

    let calls = requester.calls.lock().unwrap().clone();
    assert_eq!(calls, ["0", "0", "0", "1", "2", "3", "4"]);
    for (i, uuid) in uuids.iter().enumerate() {
        assert_eq!(
            store.reply(*uuid).unwrap(),
            Lookup::Ready(frames(&[&i.to_string()]))
        );
    }
}
