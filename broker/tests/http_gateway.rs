//! `purezmq http` as users call it: a real broker, real workers (`purezmq echo`
//! and workers in this test), the gateway as a process, and curl and reqwest as
//! the HTTP clients. Every status code, JSONP, base64 replies, streams of partial
//! replies (Server-Sent Events and chunked lines), health, metrics and CORS.

mod cli_util;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cli_util::{free_port, purezmq};
use futures::StreamExt;
use purezmq_broker::mdp::Version;
use purezmq_broker::worker::{Request, Worker, WorkerEvent};

/// How long anything may take before the test gives up: generous, for a loaded
/// machine.
const LIMIT: Duration = Duration::from_secs(30);

/// A running `purezmq`: stdout lines on a channel, stderr kept to show when a test
/// fails, killed when dropped.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    what: String,
}

impl Proc {
    fn start(args: &[&str]) -> Proc {
        let mut child = purezmq()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tell, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tell.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let kept = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                if let Ok(mut kept) = kept.lock() {
                    kept.push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            }
        });
        Proc {
            child,
            lines,
            stderr,
            what: args.join(" "),
        }
    }

    /// The next stdout line starting with `prefix`, without it.
    fn line(&self, prefix: &str) -> String {
        let start = Instant::now();
        loop {
            let left = LIMIT.saturating_sub(start.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_owned();
                    }
                }
                Err(_) => panic!(
                    "`purezmq {}` printed no line starting with {prefix:?}; stderr: {}",
                    self.what,
                    self.stderr()
                ),
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// SIGTERM, then the exit status (at most LIMIT).
    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < LIMIT,
                "`purezmq {}` did not stop",
                self.what
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- stderr of `purezmq {}`:\n{}", self.what, self.stderr());
        }
    }
}

/// A broker on a free port, and its endpoint.
fn broker() -> (Proc, String) {
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let broker = Proc::start(&["broker", &endpoint]);
    broker.line("broker listening on ");
    (broker, endpoint)
}

/// `purezmq echo ARGS` at the broker, once registered.
fn echo(endpoint: &str, args: &[&str]) -> Proc {
    let mut all = vec!["echo", "--broker", endpoint];
    all.extend_from_slice(args);
    let worker = Proc::start(&all);
    worker.line("worker ready: ");
    worker
}

/// The gateway on a free port, and its base URL.
fn gateway(brokers: &[&str], args: &[&str]) -> (Proc, String) {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut all = vec!["http", "--listen", listen.as_str()];
    for broker in brokers {
        all.extend_from_slice(&["--broker", broker]);
    }
    all.extend_from_slice(args);
    let gateway = Proc::start(&all);
    let url = gateway.line("http gateway listening on ");
    assert_eq!(url, format!("http://{listen}"));
    (gateway, url)
}

/// What curl got: the status code and the body.
fn curl(args: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-s", "-S", "--max-time", "30", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl must be installed");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let code = code.trim().parse().unwrap_or_else(|_| {
        panic!(
            "curl {args:?} gave no status: {text:?} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, body.to_owned())
}

/// A URL-encoded query value.
fn enc(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

/// Waits until the broker knows a worker for `service`, asking through the gateway.
fn wait_service(url: &str, service: &str) {
    let start = Instant::now();
    loop {
        let args = enc(&format!("[\"{service}\"]"));
        let (code, body) = curl(&[&format!("{url}/mmi.service?args={args}")]);
        if code == 200 && body.trim() == "[\"200\"]" {
            return;
        }
        assert!(
            start.elapsed() < LIMIT,
            "no worker for {service}: {code} {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(LIMIT).build().unwrap()
}

/// The value of one series in the gateway's /metrics.
fn metric(url: &str, series: &str) -> Option<u64> {
    let (code, text) = curl(&[&format!("{url}/metrics")]);
    assert_eq!(code, 200);
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_by_get_and_post_with_every_reply_type_and_error() {
    let (_broker, endpoint) = broker();
    let _echo = echo(&endpoint, &[]);
    let (_gateway, url) = gateway(&[&endpoint], &["--cors", "https://app.example"]);
    wait_service(&url, "echo");
    let mut echo_200 = 0;
    let mut echo_400 = 0;

    // GET with args: each element one frame, non-strings serialised compactly.
    let args = enc(r#"["hello", 42, {"a": [1, true]}, null, ""]"#);
    let (code, body) = curl(&[&format!("{url}/echo?args={args}")]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        json(&body),
        json(r#"["hello","42","{\"a\":[1,true]}","null",""]"#)
    );
    echo_200 += 1;

    // No args, no frames.
    let (code, body) = curl(&[&format!("{url}/echo")]);
    assert_eq!((code, body.trim()), (200, "[]"));
    echo_200 += 1;

    // POST a JSON array (reqwest), and the reply's headers.
    let response = client()
        .post(format!("{url}/echo"))
        .json(&serde_json::json!(["a", 1.5, ["x"]]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let reply: serde_json::Value = response.json().await.unwrap();
    assert_eq!(reply, json(r#"["a","1.5","[\"x\"]"]"#));
    echo_200 += 1;

    // POST of another content type: the body is one frame, even when it looks
    // like JSON.
    let (code, body) = curl(&[
        "-H",
        "Content-Type: text/plain",
        "--data-binary",
        "[\"not\", \"split\"]\nline two",
        &format!("{url}/echo"),
    ]);
    assert_eq!(code, 200);
    assert_eq!(
        json(&body),
        serde_json::json!(["[\"not\", \"split\"]\nline two"])
    );
    echo_200 += 1;

    // type=plain: the frames as text, one per line.
    let args = enc(r#"["first", "second"]"#);
    let (code, body) = curl(&[&format!("{url}/echo?args={args}&type=plain")]);
    assert_eq!((code, body.as_str()), (200, "first\nsecond"));
    echo_200 += 1;

    // JSONP, by jsonp= and by callback=.
    let response = client()
        .get(format!(
            "{url}/echo?args={}&jsonp=app.on_reply$1",
            enc("[\"hi\"]")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/javascript");
    assert_eq!(
        response.text().await.unwrap().trim(),
        "/**/app.on_reply$1([\"hi\"]);"
    );
    let (code, body) = curl(&[&format!("{url}/echo?callback=cb")]);
    assert_eq!((code, body.trim()), (200, "/**/cb([]);"));
    echo_200 += 2;

    // JSONP names that could inject script are refused, naming the parameter.
    for name in [
        "alert(1)",
        "a[0]",
        "x;y",
        "a\"b",
        "1up",
        "a..b",
        "</script>",
    ] {
        let (code, body) = curl(&[&format!("{url}/echo?jsonp={}", enc(name))]);
        assert_eq!(code, 400, "{name}: {body}");
        let body = json(&body);
        assert_eq!(body["parameter"], "jsonp", "{name}");
        assert!(body["error"].as_str().unwrap().contains("JavaScript name"));
        echo_400 += 1;
    }

    // Bad JSON args: 400 saying which parameter and why.
    for (query, parameter, says) in [
        (format!("args={}", enc("[\"open")), "args", "not valid JSON"),
        (
            format!("args={}", enc("{\"a\": 1}")),
            "args",
            "not an array",
        ),
        ("timeout=soon".to_owned(), "timeout", "milliseconds"),
        ("type=xml".to_owned(), "type", "type=plain"),
    ] {
        let (code, body) = curl(&[&format!("{url}/echo?{query}")]);
        assert_eq!(code, 400, "{query}: {body}");
        let body = json(&body);
        assert_eq!(body["parameter"], parameter, "{query}");
        assert_eq!(body["status"], 400);
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
        echo_400 += 1;
    }
    let (code, body) = curl(&[
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        "[1,",
        &format!("{url}/echo"),
    ]);
    assert_eq!(code, 400);
    assert_eq!(json(&body)["parameter"], "body");
    echo_400 += 1;

    // Other methods: 405 with Allow.
    let response = client().delete(format!("{url}/echo")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD, POST, OPTIONS");
    assert!(
        json(&response.text().await.unwrap())["error"]
            .as_str()
            .unwrap()
            .contains("DELETE")
    );
    let (code, _) = curl(&["-X", "PUT", &format!("{url}/metrics")]);
    assert_eq!(code, 405);

    // A CORS preflight for a JSON POST.
    let response = client()
        .request(reqwest::Method::OPTIONS, format!("{url}/echo"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(headers["access-control-allow-headers"], "content-type");

    // MMI through the gateway, the page, health.
    let (code, body) = curl(&[&format!("{url}/mmi.services")]);
    assert_eq!(
        (code, json(&body)),
        (200, serde_json::json!(["200", "echo"]))
    );
    let (code, body) = curl(&[&format!("{url}/")]);
    assert_eq!(code, 200);
    assert!(body.contains("<"), "{body}");
    let (code, body) = curl(&[&format!("{url}/healthz")]);
    assert_eq!((code, json(&body)["status"].clone()), (200, "ok".into()));

    // A service named like a reserved path is reached percent-encoded.
    let (code, body) = curl(&[&format!("{url}/%6Detrics")]);
    assert_eq!(code, 503);
    assert_eq!(json(&body)["service"], "metrics");

    // The metrics count exactly what was asked.
    assert_eq!(
        metric(
            &url,
            "purezmq_http_requests_total{service=\"echo\",code=\"200\"}"
        ),
        Some(echo_200)
    );
    assert_eq!(
        metric(
            &url,
            "purezmq_http_requests_total{service=\"echo\",code=\"400\"}"
        ),
        Some(echo_400)
    );
    assert_eq!(
        metric(
            &url,
            "purezmq_http_requests_total{service=\"echo\",code=\"405\"}"
        ),
        Some(1)
    );
    assert_eq!(metric(&url, "purezmq_http_requests_in_flight"), Some(0));
    let count = metric(&url, "purezmq_http_request_duration_seconds_count").unwrap();
    assert!(count >= echo_200 + echo_400, "{count}");
    assert_eq!(
        metric(
            &url,
            "purezmq_http_request_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        Some(count)
    );
}

/// A worker in this test: answers each request with a frame that is not UTF-8
/// and one that is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_that_are_not_utf8_come_back_as_base64() {
    let (_broker, endpoint) = broker();
    let (ready_tell, ready) = tokio::sync::oneshot::channel();
    let ready_tell = Mutex::new(Some(ready_tell));
    let worker = Worker::new(endpoint.clone(), "bin").on_event(move |event| {
        if let WorkerEvent::Registered { .. } = event
            && let Some(tell) = ready_tell.lock().unwrap().take()
        {
            let _ = tell.send(());
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(
        |request: Request| async move {
            let mut reply = vec![Bytes::from_static(&[0xff, 0x00, 0x41])];
            reply.extend(request.body);
            reply
        },
        async move {
            let _ = stopped.await;
        },
    ));
    tokio::time::timeout(LIMIT, ready).await.unwrap().unwrap();
    let (_gateway, url) = gateway(&[&endpoint], &[]);
    wait_service(&url, "bin");
    let (code, body) = curl(&[&format!("{url}/bin?args={}", enc("[\"text\"]"))]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body), json(r#"[{"base64":"/wBB"},"text"]"#));
    // Binary in: a POST of application/octet-stream is one frame, as sent.
    let response = client()
        .post(format!("{url}/bin"))
        .header("content-type", "application/octet-stream")
        .body(vec![0u8, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let reply: serde_json::Value = response.json().await.unwrap();
    assert_eq!(reply, json(r#"[{"base64":"/wBB"},{"base64":"AP4="}]"#));
    let _ = stop.send(());
    tokio::time::timeout(LIMIT, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[test]
fn no_worker_is_503_at_once_and_a_slow_one_504_while_others_answer() {
    let (_broker, endpoint) = broker();
    let _echo = echo(&endpoint, &[]);
    let _slow = echo(&endpoint, &["slow", "--delay", "5s"]);
    // A default timeout far longer than the test may take: a 503 must not wait
    // for it.
    let (_gateway, url) = gateway(&[&endpoint], &["--timeout", "120s"]);
    wait_service(&url, "echo");
    wait_service(&url, "slow");

    let started = Instant::now();
    let (code, body) = curl(&[&format!("{url}/nobody?args={}", enc("[\"x\"]"))]);
    assert_eq!(code, 503, "{body}");
    let body = json(&body);
    assert_eq!(body["reason"], "no_worker");
    assert_eq!(body["service"], "nobody");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("purezmq echo nobody")
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the 503 waited for the timeout"
    );

    // A request to the slow worker is in flight...
    let slow_url = format!("{url}/slow?args={}&timeout=60000", enc("[\"late\"]"));
    let (done_tell, done) = mpsc::channel();
    let slow = std::thread::spawn(move || {
        let reply = curl(&[&slow_url]);
        let _ = done_tell.send(());
        reply
    });
    // ...(wait until the gateway has it)...
    let start = Instant::now();
    while metric(&url, "purezmq_http_requests_in_flight") != Some(1) {
        assert!(
            start.elapsed() < LIMIT,
            "the slow request never got in flight"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // ...while other requests are answered.
    for i in 0..5 {
        let (code, body) = curl(&[&format!("{url}/echo?args={}", enc(&format!("[{i}]")))]);
        assert_eq!(
            (code, json(&body)),
            (200, serde_json::json!([i.to_string()]))
        );
    }
    assert!(
        done.try_recv().is_err(),
        "the slow request was answered before the fast ones"
    );
    let (code, body) = slow.join().unwrap();
    assert_eq!((code, json(&body)), (200, serde_json::json!(["late"])));

    // With a timeout shorter than the worker's delay: 504, saying so.
    let (code, body) = curl(&[&format!("{url}/slow?args={}&timeout=300", enc("[\"x\"]"))]);
    assert_eq!(code, 504, "{body}");
    let body = json(&body);
    assert_eq!(body["reason"], "timeout");
    assert!(body["error"].as_str().unwrap().contains("300 ms"));
    // The gateway still answers, on a fresh connection.
    let (code, _) = curl(&[&format!("{url}/echo")]);
    assert_eq!(code, 200);
    assert_eq!(
        metric(
            &url,
            "purezmq_http_requests_total{service=\"slow\",code=\"504\"}"
        ),
        Some(1)
    );
    assert_eq!(
        metric(
            &url,
            "purezmq_http_requests_total{service=\"nobody\",code=\"503\"}"
        ),
        Some(1)
    );
}

#[test]
fn bodies_over_max_body_are_413_and_requests_over_max_inflight_429() {
    let (_broker, endpoint) = broker();
    let _echo = echo(&endpoint, &[]);
    let _slow = echo(&endpoint, &["slow", "--delay", "4s"]);
    let (_gateway, url) = gateway(&[&endpoint], &["--max-body", "16", "--max-inflight", "1"]);
    wait_service(&url, "echo");
    wait_service(&url, "slow");

    let (code, body) = curl(&["--data-binary", "0123456789abcdef", &format!("{url}/echo")]);
    assert_eq!(
        (code, json(&body)),
        (200, serde_json::json!(["0123456789abcdef"]))
    );
    let (code, body) = curl(&["--data-binary", "0123456789abcdefg", &format!("{url}/echo")]);
    assert_eq!(code, 413, "{body}");
    assert!(
        json(&body)["error"]
            .as_str()
            .unwrap()
            .contains("--max-body")
    );
    // Chunked, without a Content-Length: counted as it arrives.
    let (code, _) = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        "0123456789abcdefg",
        &format!("{url}/echo"),
    ]);
    assert_eq!(code, 413);

    let slow_url = format!("{url}/slow?timeout=60000");
    let slow = std::thread::spawn(move || curl(&[&slow_url]));
    let start = Instant::now();
    while metric(&url, "purezmq_http_requests_in_flight") != Some(1) {
        assert!(
            start.elapsed() < LIMIT,
            "the slow request never got in flight"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, body) = curl(&["-D", "-", &format!("{url}/echo")]);
    assert_eq!(code, 429, "{body}");
    assert!(body.to_ascii_lowercase().contains("retry-after: 1"));
    assert!(body.contains("--max-inflight"));
    assert_eq!(slow.join().unwrap().0, 200);
    // The place is free again.
    let (code, _) = curl(&[&format!("{url}/echo")]);
    assert_eq!(code, 200);
}

/// Reads a response body until `text` has arrived; what has arrived so far.
async fn read_until(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<Bytes>> + Unpin),
    seen: &mut String,
    text: &str,
) {
    while !seen.contains(text) {
        let chunk = tokio::time::timeout(LIMIT, stream.next())
            .await
            .unwrap_or_else(|_| panic!("{text:?} never came; got {seen:?}"))
            .unwrap_or_else(|| panic!("the stream ended before {text:?}; got {seen:?}"))
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// A worker in this test sends a partial reply, then waits for the test to have
/// received it through the gateway before it sends the rest: a gateway that held
/// partials back would never see the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_replies_stream_as_they_arrive() {
    let (_broker, endpoint) = broker();
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let (ready_tell, ready) = tokio::sync::oneshot::channel();
    let ready_tell = Mutex::new(Some(ready_tell));
    let worker = Worker::new(endpoint.clone(), "steps")
        .version(Version::V02)
        .on_event(move |event| {
            if let WorkerEvent::Registered { .. } = event
                && let Some(tell) = ready_tell.lock().unwrap().take()
            {
                let _ = tell.send(());
            }
        });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let gate = Arc::clone(&release);
    let running = tokio::spawn(worker.run(
        move |request: Request| {
            let gate = Arc::clone(&gate);
            async move {
                let _ = request.partial(vec![Bytes::from("one")]).await;
                if let Ok(permit) = gate.acquire().await {
                    permit.forget();
                }
                let _ = request.partial(vec![Bytes::from("two")]).await;
                vec![Bytes::from("three"), Bytes::from("3")]
            }
        },
        async move {
            let _ = stopped.await;
        },
    ));
    tokio::time::timeout(LIMIT, ready).await.unwrap().unwrap();
    let _echo = echo(
        &endpoint,
        &["--mdp", "0.2", "--partials", "3", "--delay", "200ms"],
    );
    let (_gateway, url) = gateway(&[&endpoint], &["--mdp", "0.2"]);
    wait_service(&url, "steps");
    wait_service(&url, "echo");

    // Server-Sent Events.
    let response = client()
        .get(format!("{url}/steps?args={}", enc("[\"go\"]")))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = Box::pin(response.bytes_stream());
    let mut seen = String::new();
    read_until(&mut body, &mut seen, "\n\n").await;
    assert_eq!(seen, "data: [\"one\"]\n\n", "the first partial, alone");
    release.add_permits(1);
    read_until(&mut body, &mut seen, "event: final").await;
    while let Some(chunk) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert_eq!(
        seen,
        "data: [\"one\"]\n\ndata: [\"two\"]\n\nevent: final\ndata: [\"three\",\"3\"]\n\n"
    );

    // Chunked lines, without SSE.
    let response = client()
        .post(format!("{url}/steps"))
        .json(&serde_json::json!(["go"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let mut body = Box::pin(response.bytes_stream());
    let mut seen = String::new();
    read_until(&mut body, &mut seen, "\n").await;
    assert_eq!(seen, "[\"one\"]\n");
    release.add_permits(1);
    read_until(&mut body, &mut seen, "\"3\"]\n").await;
    assert!(body.next().await.is_none(), "more after the final: {seen}");
    assert_eq!(seen, "[\"one\"]\n[\"two\"]\n[\"three\",\"3\"]\n");

    // JSONP waits for the final reply.
    release.add_permits(1);
    let (code, body) = curl(&[&format!("{url}/steps?callback=done")]);
    assert_eq!((code, body.trim()), (200, "/**/done([\"three\",\"3\"]);"));

    // `purezmq echo --partials 3` through curl -N: three partial events and the
    // final, in order.
    let (code, body) = curl(&[
        "-N",
        "-H",
        "Accept: text/event-stream",
        &format!("{url}/echo?args={}", enc("[\"hi\"]")),
    ]);
    assert_eq!(code, 200);
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(
        events,
        [
            "data: [\"hi\"]",
            "data: [\"hi\"]",
            "data: [\"hi\"]",
            "event: final\ndata: [\"hi\"]"
        ]
    );

    // A stream whose next reply does not come within the timeout ends with a
    // failure event that says so (the status line went out as 200 already).
    let response = client()
        .get(format!("{url}/steps?timeout=500&type=plain"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = Box::pin(response.bytes_stream());
    let mut seen = String::new();
    while let Some(chunk) = tokio::time::timeout(LIMIT, body.next()).await.unwrap() {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    let (first, failure) = seen.split_once("\n\n").unwrap();
    assert_eq!(first, "data: one");
    let failure = failure
        .strip_prefix("event: failure\ndata: ")
        .unwrap_or_else(|| panic!("no failure event: {seen:?}"));
    let failure = json(failure.trim());
    assert_eq!(failure["status"], 504);
    assert_eq!(failure["reason"], "timeout");
    // Let the worker finish that request.
    release.add_permits(1);

    let _ = stop.send(());
    let _ = tokio::time::timeout(LIMIT, running).await;
}

#[test]
fn without_a_broker_health_and_calls_are_503() {
    // Nothing listens on this port.
    let dead = format!("tcp://127.0.0.1:{}", free_port());
    let (_gateway, url) = gateway(&[&dead], &[]);
    let (code, body) = curl(&[&format!("{url}/healthz")]);
    assert_eq!(code, 503, "{body}");
    let body = json(&body);
    assert_eq!(body["reason"], "broker_unreachable");
    assert!(body["error"].as_str().unwrap().contains(&dead));
    let (code, body) = curl(&[&format!("{url}/echo?timeout=500")]);
    assert_eq!(code, 503, "{body}");
    assert_eq!(json(&body)["reason"], "broker_unreachable");
}

#[test]
fn a_silent_broker_is_left_for_the_next_and_a_restarted_one_serves_again() {
    let (broker, endpoint) = broker();
    let _echo = echo(&endpoint, &[]);
    let dead = format!("tcp://127.0.0.1:{}", free_port());

    // Failover: the first broker is silent; the call that finds out gets 503,
    // the next goes to the other broker.
    let (_gateway, url) = gateway(&[&dead, &endpoint], &[]);
    let (code, body) = curl(&[&format!("{url}/echo?timeout=1000")]);
    assert_eq!(code, 503, "{body}");
    let body = json(&body);
    assert_eq!(body["reason"], "broker_unreachable");
    assert!(body["error"].as_str().unwrap().contains(&dead), "{body}");
    let (code, body) = curl(&[&format!("{url}/echo?args={}", enc("[\"next\"]"))]);
    assert_eq!((code, json(&body)), (200, serde_json::json!(["next"])));
    let (code, _) = curl(&[&format!("{url}/healthz")]);
    assert_eq!(code, 200);

    // A broker restart: 503 while it is down, 200 once it is back.
    let (_single, url) = gateway(&[&endpoint], &[]);
    wait_service(&url, "echo");
    drop(broker);
    let (code, body) = curl(&[&format!("{url}/echo?timeout=1000")]);
    assert_eq!(code, 503, "{body}");
    assert_eq!(json(&body)["reason"], "broker_unreachable");
    let _broker = Proc::start(&["broker", &endpoint]);
    _broker.line("broker listening on ");
    let start = Instant::now();
    loop {
        let (code, body) = curl(&[&format!(
            "{url}/echo?args={}&timeout=2000",
            enc("[\"back\"]")
        )]);
        if code == 200 {
            assert_eq!(json(&body), serde_json::json!(["back"]));
            break;
        }
        assert!(
            [503, 504].contains(&code),
            "while the worker comes back: {code} {body}"
        );
        assert!(
            start.elapsed() < LIMIT,
            "never 200 after the restart: {code} {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn calls_go_through_a_curve_broker_with_the_server_key() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("broker.key");
    let cert = cert.to_str().unwrap();
    let endpoint = format!("tcp://127.0.0.1:{}", free_port());
    let broker = Proc::start(&["broker", &endpoint, "--curve", "--cert", cert]);
    let key = broker.line("broker public key: ");
    broker.line("broker listening on ");
    let _echo = echo(&endpoint, &["--server-key", &key]);
    let (_gateway, url) = gateway(&[&endpoint], &["--server-key", &key]);
    wait_service(&url, "echo");
    let (code, body) = curl(&[&format!("{url}/echo?args={}", enc("[\"secret\"]"))]);
    assert_eq!((code, json(&body)), (200, serde_json::json!(["secret"])));

    // Without the key the broker never answers: 503, the broker is unreachable.
    let (_plain, url) = gateway(&[&endpoint], &[]);
    let (code, body) = curl(&[&format!("{url}/echo?timeout=1000")]);
    assert_eq!(code, 503, "{body}");
    assert_eq!(json(&body)["reason"], "broker_unreachable");
}

#[test]
fn the_command_line_binds_prints_and_stops_cleanly() {
    let (_broker, endpoint) = broker();
    let (mut gateway, url) = gateway(&[&endpoint], &["--timeout", "-1"]);
    let (code, _) = curl(&[&format!("{url}/healthz")]);
    assert_eq!(code, 200);
    assert!(gateway.terminate().success(), "SIGTERM must exit 0");

    // A port in use: exit 1, saying so.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = purezmq()
        .args(["http", "--broker", &endpoint, "--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot listen on"));

    // Bad flags: exit 2.
    let output = purezmq()
        .args(["http", "--max-body", "lots"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));

    let output = purezmq().args(["http", "--help"]).output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for text in [
        "--max-inflight",
        "--cors",
        "--mdp",
        "curl",
        "text/event-stream",
        "504",
    ] {
        assert!(help.contains(text), "--help lacks {text}");
    }
}
