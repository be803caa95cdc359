//! How received messages are written to stdout (`--format`).

use std::fmt::Write as _;

use clap::ValueEnum;
use purezmq::Message;

/// An output format: one message per line, except `raw` and `msgpack`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Each frame as a double-quoted string with C-style escapes (\0, \n, \t, \r, \", \\,
    /// \xNN for bytes that are not UTF-8, \u{..} for other control characters),
    /// frames separated by a space.
    #[default]
    Quoted,
    /// The frames' bytes as they are, separated by a space.
    Text,
    /// Each frame in lower-case hex, frames separated by a space.
    Hex,
    /// A JSON array of strings; a frame that is not UTF-8 becomes
    /// {"base64": "..."}.
    Json,
    /// The frames' bytes as they are, back to back: no separator, no newline.
    Raw,
    /// A MessagePack array of bin, one per frame, back to back.
    Msgpack,
}

impl Format {
    /// Appends one message to `out` in this format.
    pub fn write(self, message: &Message, out: &mut Vec<u8>) {
        let frames = message.frames();
        match self {
            Format::Quoted => {
                let mut line = String::new();
                for (index, frame) in frames.iter().enumerate() {
                    if index > 0 {
                        line.push(' ');
                    }
                    quote(frame, &mut line);
                }
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
            Format::Text => {
                for (index, frame) in frames.iter().enumerate() {
                    if index > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(frame);
                }
                out.push(b'\n');
            }
            Format::Hex => {
                let mut line = String::new();
                for (index, frame) in frames.iter().enumerate() {
                    if index > 0 {
                        line.push(' ');
                    }
                    for byte in frame.iter() {
                        let _ = write!(line, "{byte:02x}");
                    }
                }
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
            Format::Json => {
                let values: Vec<serde_json::Value> = frames
                    .iter()
                    .map(|frame| match std::str::from_utf8(frame) {
                        Ok(text) => serde_json::Value::String(text.to_string()),
                        Err(_) => serde_json::json!({ "base64": base64(frame) }),
                    })
                    .collect();
                let line = serde_json::Value::Array(values).to_string();
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
            Format::Raw => {
                for frame in frames {
                    out.extend_from_slice(frame);
                }
            }
            Format::Msgpack => {
                // Writing to a Vec cannot fail.
                let _ = rmp::encode::write_array_len(out, frames.len() as u32);
                for frame in frames {
                    let _ = rmp::encode::write_bin(out, frame);
                }
            }
        }
    }
}

/// `bytes` as a double-quoted string with escapes.
fn quote(bytes: &[u8], out: &mut String) {
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\0' => out.push_str("\\0"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let word = group.iter().enumerate().fold(0u32, |word, (i, byte)| {
            word | u32::from(*byte) << (16 - 8 * i)
        });
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(word >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: Format, frames: &[&[u8]]) -> Vec<u8> {
        let message: Message = frames.iter().map(|f| f.to_vec()).collect();
        let mut out = Vec::new();
        format.write(&message, &mut out);
        out
    }

    const FRAMES: &[&[u8]] = &[b"hello", b"a \"b\"\n", b"\xff\x00", b""];

    #[test]
    fn quoted_escapes_each_frame() {
        assert_eq!(
            String::from_utf8(render(Format::Quoted, FRAMES)).unwrap(),
            "\"hello\" \"a \\\"b\\\"\\n\" \"\\xff\\0\" \"\"\n"
        );
        assert_eq!(
            render(Format::Quoted, &["é\u{7}".as_bytes()]),
            "\"é\\u{7}\"\n".as_bytes()
        );
    }

    #[test]
    fn text_and_raw_keep_the_bytes() {
        assert_eq!(render(Format::Text, &[b"a b", b"c"]), b"a b c\n");
        assert_eq!(render(Format::Raw, &[b"a b", b"\xffc"]), b"a b\xffc");
    }

    #[test]
    fn hex_per_frame() {
        assert_eq!(render(Format::Hex, &[b"\x00\xab", b"A"]), b"00ab 41\n");
    }

    #[test]
    fn json_is_an_array_with_base64_for_binary() {
        let line = String::from_utf8(render(Format::Json, FRAMES)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!(["hello", "a \"b\"\n", {"base64": "/wA="}, ""])
        );
        assert!(line.ends_with('\n'));
    }

    #[test]
    fn msgpack_is_an_array_of_bin() {
        assert_eq!(
            render(Format::Msgpack, &[b"ab", b""]),
            [0x92, 0xc4, 2, b'a', b'b', 0xc4, 0]
        );
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
