//! Reply frames as HTTP bodies: a JSON array (`{"base64": "…"}` for a frame that
//! is not UTF-8), plain text, JSONP, Server-Sent Events and newline-delimited
//! chunks for streams.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};

use super::request::ReplyType;

/// The content type of a JSON reply.
pub const JSON: &str = "application/json";
/// The content type of a JSONP reply.
pub const JAVASCRIPT: &str = "application/javascript";
/// The content type of a stream of JSON arrays, one per line.
pub const NDJSON: &str = "application/x-ndjson";
/// The content type of Server-Sent Events.
pub const EVENT_STREAM: &str = "text/event-stream";

/// The frames as a JSON array of strings, `{"base64": "…"}` for a frame that is not
/// UTF-8.
pub fn frames_json(frames: &[Bytes]) -> serde_json::Value {
    serde_json::Value::Array(
        frames
            .iter()
            .map(|frame| match std::str::from_utf8(frame) {
                Ok(text) => serde_json::Value::String(text.to_owned()),
                Err(_) => serde_json::json!({
                    "base64": base64::engine::general_purpose::STANDARD.encode(frame),
                }),
            })
            .collect(),
    )
}

/// The frames as text, newline-separated.
pub fn frames_plain(frames: &[Bytes]) -> Bytes {
    let mut out = BytesMut::new();
    for (index, frame) in frames.iter().enumerate() {
        if index > 0 {
            out.put_u8(b'\n');
        }
        out.put_slice(frame);
    }
    out.freeze()
}

/// The content type of plain text, with the charset only when every frame is UTF-8.
fn plain_type(frames: &[Bytes]) -> &'static str {
    if frames
        .iter()
        .all(|frame| std::str::from_utf8(frame).is_ok())
    {
        "text/plain; charset=utf-8"
    } else {
        "text/plain"
    }
}

/// A whole reply: 200 with the frames as `reply_type` asks, or wrapped as
/// `callback(…);` for JSONP.
pub fn complete(frames: &[Bytes], reply_type: ReplyType, jsonp: Option<&str>) -> Response {
    let (content_type, body) = match (jsonp, reply_type) {
        (Some(callback), _) => (
            JAVASCRIPT,
            Bytes::from(format!("/**/{callback}({});\n", frames_json(frames))),
        ),
        (None, ReplyType::Json) => (JSON, Bytes::from(format!("{}\n", frames_json(frames)))),
        (None, ReplyType::Plain) => (plain_type(frames), frames_plain(frames)),
    };
    with_type(StatusCode::OK, content_type, body)
}

/// A response with a status, a content type and a body.
pub fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// How a stream of replies is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// Server-Sent Events: partials as `message` events, the last as
    /// `event: final`, a failure as `event: failure`.
    Sse(ReplyType),
    /// Chunked: each reply a JSON array on a line of its own (with `type=plain`:
    /// the frames joined by newlines, then a newline); a failure as a JSON object
    /// line `{"error": …}`.
    Lines(ReplyType),
}

impl StreamFormat {
    /// The content type of the stream.
    pub fn content_type(self) -> &'static str {
        match self {
            StreamFormat::Sse(_) => EVENT_STREAM,
            StreamFormat::Lines(ReplyType::Json) => NDJSON,
            StreamFormat::Lines(ReplyType::Plain) => "text/plain; charset=utf-8",
        }
    }

    /// One reply as a piece of the stream; `last` for the FINAL one.
    pub fn reply(self, frames: &[Bytes], last: bool) -> Bytes {
        match self {
            StreamFormat::Sse(reply_type) => {
                let mut out = BytesMut::new();
                if last {
                    out.put_slice(b"event: final\n");
                }
                match reply_type {
                    ReplyType::Json => {
                        sse_data(&mut out, frames_json(frames).to_string().as_bytes())
                    }
                    ReplyType::Plain => {
                        if frames.is_empty() {
                            out.put_slice(b"data:\n");
                        }
                        for frame in frames {
                            sse_data(&mut out, frame);
                        }
                    }
                }
                out.put_u8(b'\n');
                out.freeze()
            }
            StreamFormat::Lines(ReplyType::Json) => {
                Bytes::from(format!("{}\n", frames_json(frames)))
            }
            StreamFormat::Lines(ReplyType::Plain) => {
                let mut out = BytesMut::from(frames_plain(frames).as_ref());
                out.put_u8(b'\n');
                out.freeze()
            }
        }
    }

    /// A failure after the stream began (the status line has gone out as 200).
    pub fn failure(self, body: &serde_json::Value) -> Bytes {
        match self {
            StreamFormat::Sse(_) => Bytes::from(format!("event: failure\ndata: {body}\n\n")),
            StreamFormat::Lines(_) => Bytes::from(format!("{body}\n")),
        }
    }
}

/// `data:` lines for one event: a line per line of `text` (SSE cannot carry a bare
/// newline in a field; `\r` and `\n` both end lines).
fn sse_data(out: &mut BytesMut, text: &[u8]) {
    for line in text.split(|byte| *byte == b'\n' || *byte == b'\r') {
        out.put_slice(b"data: ");
        out.put_slice(line);
        out.put_u8(b'\n');
    }
}

/// Whether an `Accept` header value includes `text/event-stream`.
pub fn accepts_event_stream(accept: &str) -> bool {
    accept.split(',').any(|item| {
        item.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .eq_ignore_ascii_case(EVENT_STREAM)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_that_are_not_utf8_are_base64() {
        let frames = [
            Bytes::from("hi"),
            Bytes::from_static(&[0xff, 0x00]),
            Bytes::new(),
        ];
        assert_eq!(
            frames_json(&frames).to_string(),
            r#"["hi",{"base64":"/wA="},""]"#
        );
        assert_eq!(frames_plain(&frames).as_ref(), b"hi\n\xff\x00\n");
    }

    #[test]
    fn sse_events_split_lines_and_mark_the_final() {
        let frames = [Bytes::from("a\nb")];
        let partial = StreamFormat::Sse(ReplyType::Json).reply(&frames, false);
        assert_eq!(partial.as_ref(), b"data: [\"a\\nb\"]\n\n");
        let last = StreamFormat::Sse(ReplyType::Plain).reply(&frames, true);
        assert_eq!(last.as_ref(), b"event: final\ndata: a\ndata: b\n\n");
        let line = StreamFormat::Lines(ReplyType::Json).reply(&frames, true);
        assert_eq!(line.as_ref(), b"[\"a\\nb\"]\n");
    }

    #[test]
    fn accept_headers() {
        assert!(accepts_event_stream("text/event-stream"));
        assert!(accepts_event_stream(
            "application/json, Text/Event-Stream;q=0.5"
        ));
        assert!(!accepts_event_stream("*/*"));
        assert!(!accepts_event_stream("application/json"));
    }
}
