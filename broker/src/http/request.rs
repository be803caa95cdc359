//! What an HTTP request asks of a service: its frames (from `args` or the POST
//! body), its `timeout`, the reply's `type` and the JSONP callback, each checked
//! with a 400 that names the parameter at fault.

use std::time::Duration;

use bytes::Bytes;

use super::error::ApiError;

/// How the reply is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyType {
    /// A JSON array of the reply's frames (the default).
    #[default]
    Json,
    /// The frames as text, separated by newlines.
    Plain,
}

/// The query parameters of a service call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// The `args` parameter, still JSON text.
    pub args: Option<String>,
    /// `timeout`: `None` when not given, `Some(None)` for ever (`-1`).
    pub timeout: Option<Option<Duration>>,
    /// `type`.
    pub reply_type: ReplyType,
    /// `jsonp` or `callback`, checked to be a JavaScript identifier path.
    pub jsonp: Option<String>,
}

/// The longest JSONP callback name accepted, in bytes.
const MAX_CALLBACK_LEN: usize = 128;

impl Params {
    /// Parses the query string (without `?`). Unknown parameters are ignored (so
    /// that cache busters such as jQuery's `_=…` pass).
    pub fn parse(query: Option<&str>) -> Result<Params, ApiError> {
        let mut params = Params::default();
        let Some(query) = query else {
            return Ok(params);
        };
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "args" => params.args = Some(value.into_owned()),
                "timeout" => params.timeout = Some(parse_timeout(&value)?),
                "type" => {
                    params.reply_type = match value.as_ref() {
                        "json" => ReplyType::Json,
                        "plain" | "text" => ReplyType::Plain,
                        other => {
                            return Err(ApiError::bad_parameter(
                                "type",
                                format!(
                                    "type={other:?} is not a reply type; use type=json (the default) or type=plain"
                                ),
                            ));
                        }
                    }
                }
                "jsonp" | "callback" => {
                    let name = if name == "jsonp" { "jsonp" } else { "callback" };
                    check_callback(name, &value)?;
                    params.jsonp = Some(value.into_owned());
                }
                _ => {}
            }
        }
        Ok(params)
    }
}

/// `timeout` in milliseconds; `-1` waits for ever.
fn parse_timeout(value: &str) -> Result<Option<Duration>, ApiError> {
    let hint = "give timeout in milliseconds (e.g. timeout=2000), or timeout=-1 to wait for ever";
    match value.trim().parse::<i64>() {
        Ok(-1) => Ok(None),
        Ok(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms.unsigned_abs()))),
        Ok(0) => Err(ApiError::bad_parameter(
            "timeout",
            format!("timeout=0 can never be met; {hint}"),
        )),
        _ => Err(ApiError::bad_parameter(
            "timeout",
            format!("timeout={value:?} is not a number of milliseconds; {hint}"),
        )),
    }
}

/// Checks that a JSONP callback name is a JavaScript identifier path such as
/// `cb`, `jQuery123_456` or `app.calls.done$`: ASCII letters, digits, `_` and `$`,
/// not starting with a digit, dot-separated; nothing that could inject script.
pub fn check_callback(parameter: &'static str, name: &str) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        Err(ApiError::bad_parameter(
            parameter,
            format!(
                "{parameter}={name:?} {why}; the callback must be a JavaScript name such as cb or app.on_reply (letters, digits, _ and $, dot-separated)"
            ),
        ))
    };
    if name.is_empty() {
        return refuse("is empty");
    }
    if name.len() > MAX_CALLBACK_LEN {
        return refuse(&format!("is longer than {MAX_CALLBACK_LEN} bytes"));
    }
    for part in name.split('.') {
        let mut chars = part.chars();
        match chars.next() {
            None => return refuse("has an empty part between dots"),
            Some(first) if !(first.is_ascii_alphabetic() || first == '_' || first == '$') => {
                return refuse("has a part that does not start with a letter, _ or $");
            }
            Some(_) => {}
        }
        if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '$')) {
            return refuse("holds a character other than letters, digits, _, $ and .");
        }
    }
    Ok(())
}

/// Frames from a JSON array: each string as its UTF-8 bytes, any other value
/// serialised compactly (`1`, `true`, `{"a":1}`).
pub fn json_frames(parameter: &'static str, text: &[u8]) -> Result<Vec<Bytes>, ApiError> {
    let hint = "send a JSON array, one element per frame, e.g. [\"hello\", 42]";
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        ApiError::bad_parameter(
            parameter,
            format!("{parameter} is not valid JSON ({e}); {hint}"),
        )
    })?;
    let serde_json::Value::Array(items) = value else {
        return Err(ApiError::bad_parameter(
            parameter,
            format!("{parameter} is JSON but not an array; {hint}"),
        ));
    };
    Ok(items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::String(text) => Bytes::from(text),
            other => Bytes::from(other.to_string()),
        })
        .collect())
}

/// Whether a `Content-Type` value names JSON (`application/json`, or any
/// `…/…+json`), parameters aside.
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.contains('/') && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse_and_unknown_ones_pass() {
        let params = Params::parse(Some(
            "args=%5B%22a%22%5D&timeout=250&type=plain&_=123&callback=cb",
        ))
        .unwrap();
        assert_eq!(params.args.as_deref(), Some("[\"a\"]"));
        assert_eq!(params.timeout, Some(Some(Duration::from_millis(250))));
        assert_eq!(params.reply_type, ReplyType::Plain);
        assert_eq!(params.jsonp.as_deref(), Some("cb"));
        assert_eq!(Params::parse(None).unwrap(), Params::default());
        assert_eq!(
            Params::parse(Some("timeout=-1")).unwrap().timeout,
            Some(None)
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        for (query, parameter) in [
            ("timeout=soon", "timeout"),
            ("timeout=0", "timeout"),
            ("timeout=-5", "timeout"),
            ("type=xml", "type"),
            ("jsonp=alert(1)", "jsonp"),
            ("callback=a[0]", "callback"),
        ] {
            let error = Params::parse(Some(query)).unwrap_err();
            assert_eq!(error.parameter, Some(parameter), "{query}");
            assert_eq!(error.status, 400);
        }
    }

    #[test]
    fn callbacks_are_identifier_paths() {
        for good in ["cb", "a.b_c$1", "$", "_x.y", "jQuery1234_5678"] {
            assert!(check_callback("jsonp", good).is_ok(), "{good}");
        }
        for bad in [
            "", "1a", "a..b", "a.", ".a", "a b", "a(", "a[0]", "a'b", "a\"b", "a;b", "é", "a-b",
            "a/*", "a\nb",
        ] {
            assert!(check_callback("jsonp", bad).is_err(), "{bad:?}");
        }
        assert!(check_callback("jsonp", &"a".repeat(129)).is_err());
    }

    #[test]
    fn json_args_become_frames() {
        assert_eq!(
            json_frames("args", br#"["a", 1, true, null, {"k": [1, 2]}, ""]"#).unwrap(),
            [
                Bytes::from("a"),
                Bytes::from("1"),
                Bytes::from("true"),
                Bytes::from("null"),
                Bytes::from("{\"k\":[1,2]}"),
                Bytes::new(),
            ]
        );
        assert!(json_frames("args", b"[]").unwrap().is_empty());
        let error = json_frames("args", b"{\"a\": 1}").unwrap_err();
        assert!(error.message.contains("not an array"));
        let error = json_frames("body", b"[").unwrap_err();
        assert_eq!(error.parameter, Some("body"));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(is_json_content_type("application/vnd.api+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/x-www-form-urlencoded"));
    }
}
