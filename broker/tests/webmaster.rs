//! Seed 003's exercise end to end: the `webmaster` and `fileworker` examples as
//! processes, curl (and a raw TCP client for malformed requests) as the HTTP client.
//!
//! The examples are built by `cargo build --workspace --example …` from here, so that
//! a `cargo test --test webmaster` never runs stale binaries. `--workspace` resolves
//! features as `cargo test --workspace` does, so under the README's test command the
//! build is a no-op; with `-p purezmq-broker` cargo would unify fewer features and
//! rebuild dependencies (syn, serde, tokio-util…) first: a minute in CI.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a process gets to print its ready line, or curl to finish.
const PATIENCE: Duration = Duration::from_secs(30);

/// The directory holding the example binaries, built once for all tests.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // CARGO_BIN_EXE_purezmq is TARGET/PROFILE/purezmq; examples go to
        // TARGET/PROFILE/examples.
        let bin = Path::new(env!("CARGO_BIN_EXE_purezmq"));
        let profile_dir = bin.parent().expect("the binary has a directory");
        let profile = profile_dir
            .file_name()
            .and_then(|p| p.to_str())
            .unwrap_or("debug");
        let mut target_dir = profile_dir
            .parent()
            .expect("the profile has a target directory");
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--quiet", "--workspace"])
            .args(["--example", "webmaster", "--example", "fileworker"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        // Cargo marks its target directory with CACHEDIR.TAG; without one here, the
        // profile sits in TARGET/TRIPLE, built with `--target TRIPLE`.
        if !target_dir.join("CACHEDIR.TAG").exists()
            && let (Some(triple), Some(parent)) = (target_dir.file_name(), target_dir.parent())
        {
            build.arg("--target").arg(triple);
            target_dir = parent;
        }
        build.arg("--target-dir").arg(target_dir);
        match profile {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building the examples failed: {status}");
        profile_dir.join("examples")
    })
}

/// An example running as a process, its output in a log file; killed when dropped.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn start(example: &str, args: &[&str], log: PathBuf) -> Process {
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(examples_dir().join(example))
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Process { child, log }
    }

    /// Waits for a line starting with `prefix` and returns what follows it.
    fn line_after(&mut self, prefix: &str) -> String {
        let start = Instant::now();
        loop {
            let output = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(line) = output.lines().find(|line| line.starts_with(prefix)) {
                return line[prefix.len()..].trim().to_string();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the process exited ({status}) before printing {prefix:?}: {output}");
            }
            assert!(
                start.elapsed() < PATIENCE,
                "no line {prefix:?} within {PATIENCE:?}: {output}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A web master, its workers and the files they serve.
struct Site {
    dir: TempDir,
    root: PathBuf,
    master: Process,
    /// `http://127.0.0.1:PORT`
    url: String,
    /// Where workers connect.
    workers_endpoint: String,
    workers: Vec<Process>,
}

impl Site {
    /// A root holding `hello.txt`, `index.html`, `big.bin` (1 MiB), a directory
    /// `sub` with `inner.txt`, a symlink `inside.txt` to `hello.txt`, and symlinks
    /// `out` and `outdir` to a file and a directory beside the root; a master with
    /// `master_args`; and `workers` workers.
    fn new(master_args: &[&str], workers: usize) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("hello.txt"), "hello, world\n").unwrap();
        std::fs::write(root.join("index.html"), "<h1>seed 003</h1>\n").unwrap();
        std::fs::write(root.join("sub/inner.txt"), "inner\n").unwrap();
        std::fs::write(root.join("big.bin"), big_file()).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/secret.txt"), "SECRET\n").unwrap();
        std::os::unix::fs::symlink(root.join("hello.txt"), root.join("inside.txt")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside/secret.txt"), root.join("out"))
            .unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("outdir")).unwrap();

        let mut args = vec!["--http", "127.0.0.1:0", "--workers", "tcp://127.0.0.1:*"];
        args.extend_from_slice(master_args);
        let mut master = Process::start("webmaster", &args, dir.path().join("master.log"));
        let workers_endpoint = master.line_after("workers connect to ");
        let url = master.line_after("webmaster listening on ");
        let mut site = Site {
            dir,
            root,
            master,
            url,
            workers_endpoint,
            workers: Vec::new(),
        };
        for _ in 0..workers {
            site.add_worker();
        }
        site
    }

    /// Starts one more worker and waits until it has said READY.
    fn add_worker(&mut self) {
        let log = self
            .dir
            .path()
            .join(format!("worker{}.log", self.workers.len()));
        let root = self.root.to_str().unwrap();
        let mut worker = Process::start(
            "fileworker",
            &[root, "--master", &self.workers_endpoint],
            log,
        );
        worker.line_after("fileworker ready: ");
        self.workers.push(worker);
    }

    fn get(&self, path: &str) -> Reply {
        curl(&[&format!("{}{path}", self.url)])
    }
}

/// 1 MiB of bytes that are not a repeating pattern.
fn big_file() -> Vec<u8> {
    let mut state: u32 = 2_463_534_242;
    (0..1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// An HTTP response as curl received it.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Runs `curl -i --path-as-is ARGS` (the path goes out exactly as written).
fn curl(args: &[&str]) -> Reply {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--include", "--path-as-is"])
        .args(["--max-time", &PATIENCE.as_secs().to_string()])
        .args(args)
        .output()
        .expect("curl runs");
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_response(&output.stdout)
}

/// Splits a raw HTTP/1.1 response into status, headers and body.
fn parse_response(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_string(), value.trim().to_string())
        })
        .collect();
    Reply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

/// Sends raw bytes on a new connection and reads until the master closes it.
fn raw_exchange(url: &str, request: &[u8]) -> String {
    let address = url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[test]
fn serves_files_with_their_bytes_and_type() {
    let site = Site::new(&[], 2);

    let hello = site.get("/hello.txt");
    assert_eq!(hello.status, 200, "{hello:?}");
    assert_eq!(hello.body, b"hello, world\n");
    assert_eq!(hello.header("content-length"), Some("13"));
    assert_eq!(
        hello.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let index = site.get("/index.html?cache=no#top");
    assert_eq!(index.status, 200, "{index:?}");
    assert_eq!(index.text(), "<h1>seed 003</h1>\n");
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );

    assert_eq!(site.get("/sub/inner.txt").text(), "inner\n");
    assert_eq!(site.get("/sub/%69nner.txt").text(), "inner\n");
    // A symlink that stays inside the root is followed.
    assert_eq!(site.get("/inside.txt").text(), "hello, world\n");

    // HEAD: the length, no body.
    let head = curl(&["--head", &format!("{}/hello.txt", site.url)]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("13"));
    assert!(head.body.is_empty());

    // 1 MiB, byte for byte.
    let big = site.get("/big.bin");
    assert_eq!(big.status, 200);
    assert_eq!(big.header("content-length"), Some("1048576"));
    assert_eq!(big.header("content-type"), Some("application/octet-stream"));
    assert!(big.body == big_file(), "the 1 MiB file came back altered");
}

#[test]
fn missing_files_and_directories_are_404() {
    let site = Site::new(&[], 1);
    for path in [
        "/nothing.txt",
        "/sub/nothing",
        "/sub",
        "/sub/",
        "/",
        "/hello.txt/more",
    ] {
        let reply = site.get(path);
        assert_eq!(reply.status, 404, "{path}: {reply:?}");
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
}

#[test]
fn paths_leaving_the_root_are_403() {
    let site = Site::new(&[], 2);
    for path in [
        "/../etc/passwd",
        "/../outside/secret.txt",
        "/sub/../../outside/secret.txt",
        "/sub/../hello.txt",
        "/./hello.txt",
        "/%2e%2e/etc/passwd",
        "/%2E%2E/outside/secret.txt",
        "/sub/%2e%2e%2f%2e%2e/outside/secret.txt",
        "/..%2fetc/passwd",
        "//etc/passwd",
        "/sub//etc/passwd",
        "/%2fetc/passwd",
        "/..%5coutside%5csecret.txt",
        "/out",
        "/outdir/secret.txt",
    ] {
        let reply = site.get(path);
        assert_eq!(reply.status, 403, "{path}: {reply:?}");
        assert!(!reply.text().contains("SECRET"), "{path} leaked the secret");
        assert!(!reply.text().contains("root:"), "{path} leaked /etc/passwd");
    }
    // A broken escape is the client's mistake.
    assert_eq!(site.get("/%zz").status, 400);
    assert_eq!(site.get("/%2").status, 400);
}

#[test]
fn several_workers_share_the_load() {
    let site = Site::new(&[], 2);
    let pids: Vec<String> = site.workers.iter().map(|w| w.id().to_string()).collect();
    let mut served = [0; 2];
    for _ in 0..20 {
        let reply = site.get("/hello.txt");
        assert_eq!(reply.status, 200, "{reply:?}");
        let worker = reply.header("x-worker").expect("an X-Worker header");
        let index = pids
            .iter()
            .position(|pid| pid == worker)
            .unwrap_or_else(|| panic!("X-Worker {worker} is neither of {pids:?}"));
        served[index] += 1;
    }
    assert!(
        served.iter().all(|&n| n > 0),
        "one worker served everything: {served:?}"
    );
}

#[test]
fn only_get_and_head_are_allowed() {
    let site = Site::new(&[], 1);
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let reply = curl(&[
            "-X",
            method,
            "--data",
            "x",
            &format!("{}/hello.txt", site.url),
        ]);
        assert_eq!(reply.status, 405, "{method}: {reply:?}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
        assert_eq!(reply.header("connection"), Some("close"));
    }
}

#[test]
fn malformed_requests_get_400_431_505_and_keep_alive_works() {
    let site = Site::new(&[], 1);
    let garbage = raw_exchange(&site.url, b"GARBAGE\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
    let no_host = raw_exchange(&site.url, b"GET /hello.txt HTTP/1.1\r\n\r\n");
    assert!(no_host.starts_with("HTTP/1.1 400 "), "{no_host}");
    let bad_header = raw_exchange(&site.url, b"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n");
    assert!(bad_header.starts_with("HTTP/1.1 400 "), "{bad_header}");
    let relative = raw_exchange(&site.url, b"GET hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(relative.starts_with("HTTP/1.1 400 "), "{relative}");
    let version = raw_exchange(&site.url, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n");
    assert!(version.starts_with("HTTP/1.1 505 "), "{version}");
    let mut huge = b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 10_000));
    huge.extend_from_slice(b"\r\n\r\n");
    let too_large = raw_exchange(&site.url, &huge);
    assert!(too_large.starts_with("HTTP/1.1 431 "), "{too_large}");

    // Two requests on one connection (pipelined), the second closing it; and the
    // absolute form of the target.
    let both = raw_exchange(
        &site.url,
        b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          GET http://x/sub/inner.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(both.matches("HTTP/1.1 200 OK").count(), 2, "{both}");
    assert!(both.contains("Connection: keep-alive\r\n"), "{both}");
    assert!(both.ends_with("Connection: close\r\n\r\ninner\n"), "{both}");
    // HTTP/1.0 closes unless asked not to.
    let old = raw_exchange(&site.url, b"GET /hello.txt HTTP/1.0\r\n\r\n");
    assert!(old.starts_with("HTTP/1.1 200 OK"), "{old}");
    assert!(old.ends_with("hello, world\n"), "{old}");
}

#[test]
fn without_workers_requests_wait_then_get_504_and_a_late_worker_serves() {
    let mut site = Site::new(&["--timeout-ms", "1000"], 0);
    let reply = site.get("/hello.txt");
    assert_eq!(reply.status, 504, "{reply:?}");
    assert!(reply.text().contains("no worker answered"), "{reply:?}");
    site.add_worker();
    let reply = site.get("/hello.txt");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text(), "hello, world\n");
}

#[test]
fn a_full_queue_gets_503() {
    // No worker, room for one waiting request: of two requests at once, one waits
    // (then 504) and the other is refused at once.
    let site = Site::new(&["--timeout-ms", "3000", "--queue", "1"], 0);
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let url = format!("{}/hello.txt", site.url);
            std::thread::spawn(move || curl(&[&url]))
        })
        .collect();
    let mut replies: Vec<Reply> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    replies.sort_by_key(|reply| reply.status);
    assert_eq!(replies[0].status, 503, "{replies:?}");
    assert_eq!(replies[0].header("retry-after"), Some("1"));
    assert_eq!(replies[1].status, 504, "{replies:?}");
}

#[test]
fn workers_come_back_after_the_master_restarts() {
    let mut site = Site::new(&[], 1);
    assert_eq!(site.get("/hello.txt").status, 200);

    // A new master on the same endpoints; the worker reconnects and says READY again.
    let http = site.url.strip_prefix("http://").unwrap().to_string();
    let workers = site.workers_endpoint.clone();
    site.master.child.kill().unwrap();
    site.master.child.wait().unwrap();
    site.master = Process::start(
        "webmaster",
        &["--http", &http, "--workers", &workers],
        site.dir.path().join("master2.log"),
    );
    site.master.line_after("webmaster listening on ");
    let reply = site.get("/hello.txt");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.text(), "hello, world\n");
}

#[test]
fn a_lying_worker_gets_502_and_a_hung_one_504_while_others_serve() {
    let mut site = Site::new(&["--timeout-ms", "2000"], 0);
    // A worker played by hand: READY, then whatever answers the test chooses.
    let rogue = purezmq::blocking::Socket::new(purezmq::SocketType::Dealer);
    rogue.set_options(|o| o.rcvtimeo = Some(PATIENCE)).unwrap();
    rogue.connect(&site.workers_endpoint).unwrap();
    rogue
        .send(purezmq::Message::from_iter(["", "READY"]))
        .unwrap();

    let exchange = |answer: &[&[u8]]| {
        let url = format!("{}/hello.txt", site.url);
        let client = std::thread::spawn(move || curl(&[&url]));
        let request = rogue.recv().unwrap().into_frames();
        let [delimiter, id, path] = request.as_slice() else {
            panic!("a request of {} frames", request.len());
        };
        assert!(delimiter.is_empty());
        assert_eq!(id.len(), 8);
        assert_eq!(&path[..], b"/hello.txt");
        if !answer.is_empty() {
            let mut reply = purezmq::Message::new();
            reply.push(Vec::new());
            reply.push(id.to_vec());
            for frame in answer {
                reply.push(frame.to_vec());
            }
            rogue.send(reply).unwrap();
        }
        client.join().unwrap()
    };

    // A header line that tries to smuggle in a second header.
    let smuggled = exchange(&[b"200", b"X-Evil: a\r\nSet-Cookie: stolen=1", b"body"]);
    assert_eq!(smuggled.status, 502, "{smuggled:?}");
    assert!(smuggled.header("set-cookie").is_none(), "{smuggled:?}");
    let bad_status = exchange(&[b"999", b"body"]);
    assert_eq!(bad_status.status, 502, "{bad_status:?}");
    let no_status = exchange(&[b"2OO", b"body"]);
    assert_eq!(no_status.status, 502, "{no_status:?}");
    // A header the master writes itself is dropped, not doubled.
    let length = exchange(&[b"200", b"Content-Length: 99", b"X-Worker: rogue", b"ok"]);
    assert_eq!(length.status, 200, "{length:?}");
    assert_eq!(length.header("content-length"), Some("2"));
    assert_eq!(length.header("x-worker"), Some("rogue"));
    assert_eq!(length.text(), "ok");
    // No answer at all: 504, and the rogue stays busy.
    let hung = exchange(&[]);
    assert_eq!(hung.status, 504, "{hung:?}");

    // A real worker serves while the rogue hangs.
    site.add_worker();
    for _ in 0..3 {
        let reply = site.get("/hello.txt");
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.text(), "hello, world\n");
    }
}
