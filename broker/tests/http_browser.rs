//! A real browser against the HTTP gateway: headless Chromium loads the gateway's
//! own page (`/`) and a page from another origin that calls the gateway through
//! JSONP, and the tests check what they rendered in the DOM Chromium dumps.
//! Screenshots go to `target/browser/*.png` for people to look at; the DOM is what
//! the assertions read.
//!
//! Needs Debian's `chromium` (`/usr/bin/chromium`, or the path in `$CHROMIUM`):
//! `apt-get install chromium`; CI installs it.

mod cli_util;
mod gateway_bus;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gateway_bus::{Bus, get};

/// How long one Chromium run may take before it is killed and the test fails.
const BROWSER_LIMIT: Duration = Duration::from_secs(60);
/// How long an HTTP request of the test itself may take.
const HTTP_LIMIT: Duration = Duration::from_secs(20);

/// One bus and one browser at a time: the machine may have two cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Chromium's path, or a failure that says how to get it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "the browser tests need headless Chromium at {}: install it (Debian: \
         `apt-get install chromium`) or set CHROMIUM to its path",
        path.display()
    );
    path
}

/// Runs Chromium headless on `url` with `mode` (`--dump-dom` or
/// `--screenshot=PATH`), a fresh profile, and 10 s of virtual time for the page's
/// scripts and requests; returns its stdout. Killed after [`BROWSER_LIMIT`].
fn run_chromium(url: &str, mode: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let stderr_path = profile.path().join("stderr.log");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--window-size=1024,768",
            "--virtual-time-budget=10000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .arg(mode)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start Chromium: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > BROWSER_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = reader.join().unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    match status {
        Some(status) if status.success() => stdout,
        Some(status) => panic!("Chromium exited with {status} on {url}; stderr:\n{stderr}"),
        None => panic!("Chromium did not finish {url} in {BROWSER_LIMIT:?}; stderr:\n{stderr}"),
    }
}

/// The DOM of `url` once its scripts have run.
fn dump_dom(url: &str) -> String {
    run_chromium(url, "--dump-dom")
}

/// Saves a screenshot of `url` as `target/browser/NAME.png`, for people; a
/// screenshot that fails is reported, not fatal (the DOM is what is checked).
fn screenshot(url: &str, name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(Path::new("target"))
        .join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&path);
    let _ = run_chromium(url, &format!("--screenshot={}", path.display()));
    if path.exists() {
        println!("screenshot: {}", path.display());
    } else {
        println!("no screenshot was written to {}", path.display());
    }
}

/// The start tag of the first element whose start tag contains `marker`.
fn start_tag<'a>(dom: &'a str, marker: &str) -> Option<&'a str> {
    let at = dom.find(marker)?;
    let open = dom[..at].rfind('<')?;
    let close = at + dom[at..].find('>')?;
    Some(&dom[open..=close])
}

/// The text right after that start tag, up to the next tag.
fn text_of<'a>(dom: &'a str, marker: &str) -> Option<&'a str> {
    let at = dom.find(marker)?;
    let text = &dom[at + dom[at..].find('>')? + 1..];
    Some(&text[..text.find('<').unwrap_or(text.len())])
}

/// Asserts that the element marked `marker` has `attribute` in its start tag.
fn assert_attribute(dom: &str, marker: &str, attribute: &str, logs: &str) {
    let tag = start_tag(dom, marker)
        .unwrap_or_else(|| panic!("no element with {marker} in the DOM:\n{dom}\n{logs}"));
    assert!(
        tag.contains(attribute),
        "{tag} has no {attribute}; the DOM:\n{dom}\n{logs}"
    );
}

#[test]
fn the_gateways_page_lists_services_with_worker_counts_and_shows_a_call() {
    let _serial = serial();
    let bus = Bus::start(&["echo", "<b>bold</b>", "<b>bold</b>"], &[]);
    let url = format!(
        "{}/?call=echo&args=%5B%22hi%22%2C%22there%22%5D",
        bus.base()
    );
    let dom = dump_dom(&url);
    let logs = bus.logs();
    assert_attribute(&dom, "<body", r#"data-state="ready""#, &logs);
    // Both services, each with its count of workers.
    assert_attribute(&dom, r#"data-service="echo""#, r#"data-workers="1""#, &logs);
    assert!(
        dom.contains(r#"<span class="name">echo</span><span class="workers">1 worker</span>"#),
        "echo is not listed with 1 worker:\n{dom}"
    );
    // A service name that looks like markup is shown as text, not made an element.
    assert!(
        dom.contains(
            r#"<span class="name">&lt;b&gt;bold&lt;/b&gt;</span><span class="workers">2 workers</span>"#
        ),
        "the <b>bold</b> service is not listed, as text, with 2 workers:\n{dom}"
    );
    assert!(
        !dom.contains(r#"<span class="name"><b>"#),
        "markup got in:\n{dom}"
    );
    assert_attribute(&dom, r#"id="services""#, r#"data-state="ready""#, &logs);
    // The call made from the link: its status and the echoed frames.
    assert_attribute(&dom, r#"id="reply""#, r#"data-status="200""#, &logs);
    assert_eq!(
        text_of(&dom, r#"id="reply""#).map(str::trim_end),
        Some(r#"["hi","there"]"#),
        "{dom}"
    );
    let status = text_of(&dom, r#"id="status""#).unwrap_or_default();
    assert!(
        status.starts_with("200 OK"),
        "the status line says {status:?}"
    );
    // And the same call for a shell.
    let curl = format!(
        "curl '{}/echo?args=%5B%22hi%22%2C%22there%22%5D'",
        bus.base()
    );
    assert_eq!(text_of(&dom, r#"id="curl""#), Some(curl.as_str()), "{dom}");
    screenshot(&url, "gateway-page");

    // A service nobody offers: the page shows the gateway's 503 and its message.
    let url = format!("{}/?call=nobody&args=%5B%22hi%22%5D", bus.base());
    let dom = dump_dom(&url);
    assert_attribute(&dom, r#"id="reply""#, r#"data-status="503""#, &bus.logs());
    let status = text_of(&dom, r#"id="status""#).unwrap_or_default();
    assert!(status.starts_with("503"), "the status line says {status:?}");
    assert!(
        text_of(&dom, r#"id="reply""#).is_some_and(|body| body.contains("nobody")),
        "the 503 body does not name the service:\n{dom}"
    );
    screenshot(&url, "gateway-page-503");
}

#[test]
fn the_gateways_page_is_served_as_html_with_a_content_security_policy() {
    let _serial = serial();
    let bus = Bus::start(&["echo"], &[]);
    let page = get(bus.http_port, "/", HTTP_LIMIT).unwrap();
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(page.body.contains(r#"<ul id="services">"#));
    // Style and script are inline: the page needs no other file.
    assert!(!page.body.contains(r#"src="app.js""#));
}

/// Serves `page` to every request on a port of loopback (another origin than the
/// gateway's), from a thread that lives as long as the test process.
fn serve_page(page: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let (status, body) = if request.starts_with(b"GET / ") {
                ("200 OK", page.as_str())
            } else {
                ("404 Not Found", "")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// A page on another origin: `show` writes what the gateway's JSONP hands it into
/// the DOM; a second script asks for a callback that is not a JavaScript name but
/// code, which would mark `#injected` if the gateway let it through.
fn jsonp_page(gateway: &str, refused: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Another site</title></head>
<body>
<h1>Another site, calling the gateway through JSONP</h1>
<p id="reply" data-state="waiting">waiting</p>
<p id="nested" data-state="waiting">waiting</p>
<p id="injected">no injected code ran</p>
<p id="refused">the bad callback was not refused</p>
<script>
function show(frames) {{
  var reply = document.getElementById("reply");
  reply.textContent = frames.join(" ");
  reply.setAttribute("data-state", "shown");
  reply.setAttribute("data-frames", String(frames.length));
}}
var site = {{ widgets: {{ show: function (frames) {{
  var nested = document.getElementById("nested");
  nested.textContent = frames.join(" ");
  nested.setAttribute("data-state", "shown");
}} }} }};
</script>
<script src="{gateway}/echo?args=%5B%22jsonp%22%2C%22works%22%5D&callback=show"></script>
<script src="{gateway}/echo?args=%5B%22nested%22%5D&callback=site.widgets.show"></script>
<script src="{gateway}/echo?args=%5B%22x%22%5D&callback={refused}"
  onerror="document.getElementById('refused').textContent = 'refused'"></script>
</body>
</html>
"#
    )
}

/// `document.getElementById("injected").textContent="ran";show`, URL-encoded: a
/// callback that would run code if the gateway wrapped its reply in it.
const INJECTION: &str = "document.getElementById(%22injected%22).textContent%3D%22ran%22%3Bshow";

#[test]
fn a_page_on_another_origin_calls_the_gateway_through_jsonp() {
    let _serial = serial();
    let bus = Bus::start(&["echo"], &[]);
    // Straight from the gateway first: the bad callback is refused with 400.
    let refused = get(
        bus.http_port,
        &format!("/echo?args=%5B%22x%22%5D&callback={INJECTION}"),
        HTTP_LIMIT,
    )
    .unwrap();
    assert_eq!(refused.status, 400, "{refused:?}\n{}", bus.logs());
    // Not a script: JSON saying what was wrong, which no browser runs.
    assert_eq!(
        refused.header("content-type"),
        Some("application/json"),
        "{refused:?}"
    );
    assert!(refused.body.starts_with('{'), "{refused:?}");
    let wrapped = get(
        bus.http_port,
        "/echo?args=%5B%22a%22%5D&callback=show",
        HTTP_LIMIT,
    )
    .unwrap();
    assert_eq!(wrapped.status, 200, "{wrapped:?}");
    assert!(
        wrapped
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/javascript")),
        "{wrapped:?}"
    );
    assert!(wrapped.body.contains(r#"show(["a"])"#), "{wrapped:?}");

    let site = serve_page(jsonp_page(&bus.base(), INJECTION));
    let url = format!("http://127.0.0.1:{site}/");
    let dom = dump_dom(&url);
    let logs = bus.logs();
    assert_attribute(&dom, r#"id="reply""#, r#"data-state="shown""#, &logs);
    assert_attribute(&dom, r#"id="reply""#, r#"data-frames="2""#, &logs);
    assert_eq!(text_of(&dom, r#"id="reply""#), Some("jsonp works"), "{dom}");
    assert_attribute(&dom, r#"id="nested""#, r#"data-state="shown""#, &logs);
    assert_eq!(text_of(&dom, r#"id="nested""#), Some("nested"), "{dom}");
    assert_eq!(
        text_of(&dom, r#"id="injected""#),
        Some("no injected code ran"),
        "{dom}"
    );
    assert_eq!(text_of(&dom, r#"id="refused""#), Some("refused"), "{dom}");
    screenshot(&url, "jsonp-other-origin");
}
