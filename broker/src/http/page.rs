//! The gateway's page at `/`: static HTML, CSS and JavaScript embedded in the
//! binary (no build step) that lists the services the broker knows with their
//! worker counts and lets a person call one and see the reply.
//!
//! The files live in `page/`. `index.html` links `style.css` and `app.js` as a
//! browser opening it from disk would load them; [`index`] answers with one
//! document that carries both inline, so the page needs no other route. The page
//! talks to the gateway only (`mmi.services`, `mmi.workers` and the service called,
//! by relative URLs), and inserts what it receives as text, never as HTML.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};

const HTML: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/style.css");
const SCRIPT: &str = include_str!("page/app.js");

/// The tags in `index.html` that [`PAGE`] replaces with the files' contents.
const STYLE_LINK: &str = r#"<link rel="stylesheet" href="style.css">"#;
const SCRIPT_TAG: &str = r#"<script src="app.js"></script>"#;

/// What the page may do: fetch from the gateway and nothing else, run its own
/// inline script and style, not be framed by another site, not post a form.
const POLICY: &str = "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page as served: `index.html` with the style sheet and the script inline.
static PAGE: LazyLock<String> = LazyLock::new(|| inline(HTML, STYLE, SCRIPT));

fn inline(html: &str, style: &str, script: &str) -> String {
    html.replacen(STYLE_LINK, &format!("<style>\n{style}</style>"), 1)
        .replacen(SCRIPT_TAG, &format!("<script>\n{script}</script>"), 1)
}

/// `GET /`: the page, HTML with its style and script inline.
pub async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_page_carries_its_style_and_script_inline() {
        assert!(HTML.contains(STYLE_LINK), "index.html lost its style link");
        assert!(HTML.contains(SCRIPT_TAG), "index.html lost its script tag");
        let page = PAGE.as_str();
        assert!(!page.contains(STYLE_LINK) && !page.contains(SCRIPT_TAG));
        assert!(page.contains(STYLE) && page.contains(SCRIPT));
        // Inline, neither may close its element early.
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
    }

    #[test]
    fn the_script_inserts_text_never_html() {
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
        ] {
            assert!(!SCRIPT.contains(sink), "app.js uses {sink}");
        }
    }

    #[test]
    fn the_page_has_the_elements_tests_and_scripts_rely_on() {
        for id in [
            r#"id="services""#,
            r#"id="services-status""#,
            r#"id="refresh""#,
            r#"id="call-form""#,
            r#"id="service""#,
            r#"id="args""#,
            r#"id="status""#,
            r#"id="reply""#,
        ] {
            assert!(HTML.contains(id), "index.html has no element {id}");
        }
    }
}
