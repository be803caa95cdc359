//! Property tests: every message survives encoding and decoding unchanged, and the
//! events a connection produces do not depend on how its input is split.

mod common;

use bytes::{Bytes, BytesMut};
use common::{at, events, null};
use proptest::prelude::*;
use purezmq_zmtp::frame::{FrameDecoder, MAX_HEADER_LEN, encode_header};
use purezmq_zmtp::{Connection, Event, Message, Metadata, SocketType};

fn message() -> impl Strategy<Value = Message> {
    let frame = prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..40),
        1 => prop::collection::vec(any::<u8>(), 250..300),
    ];
    prop::collection::vec(frame, 1..4)
        .prop_map(|frames| Message::from(frames.into_iter().map(Bytes::from).collect::<Vec<_>>()))
}

/// Everything a DEALER sends when it opens a connection and then sends `messages`:
/// greeting, READY, the messages, and a subscription-like command.
fn client_stream(messages: &[Message]) -> Vec<u8> {
    let (mut client, mut server) = (null(SocketType::Dealer), null(SocketType::Router));
    let mut stream = Vec::new();
    while !client.is_ready() || !server.is_ready() {
        let to_server = client.send_buffer().take_all();
        stream.extend_from_slice(&to_server);
        server.feed(&to_server, at(0)).expect("valid");
        let to_client = server.send_buffer().take_all();
        client.feed(&to_client, at(0)).expect("valid");
    }
    for m in messages {
        client.send(m).expect("ready");
    }
    stream.extend_from_slice(&client.send_buffer().take_all());
    stream
}

/// Feeds `stream` to a fresh ROUTER in the given pieces; returns its events and output.
fn run(stream: &[u8], cuts: &[usize]) -> (Vec<Event>, Vec<u8>) {
    let mut server: Connection = null(SocketType::Router);
    let mut out = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
        server
            .feed(&stream[start..end], at(0))
            .expect("valid stream");
        out.extend_from_slice(&server.send_buffer().take_all());
        start = end;
    }
    (events(&mut server), out)
}

proptest! {
    #[test]
    fn messages_arrive_as_sent_however_the_input_is_split(
        messages in prop::collection::vec(message(), 1..6),
        raw_cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let stream = client_stream(&messages);
        let mut cuts: Vec<usize> = raw_cuts.iter().map(|i| i.index(stream.len())).collect();
        cuts.sort_unstable();
        let whole = run(&stream, &[]);
        let received: Vec<&Message> = whole.0.iter().filter_map(|e| match e {
            Event::Message(m) => Some(m),
            _ => None,
        }).collect();
        prop_assert_eq!(received, messages.iter().collect::<Vec<_>>());
        prop_assert_eq!(run(&stream, &cuts), whole);
    }

    #[test]
    fn frames_decode_to_what_was_encoded(
        body in prop::collection::vec(any::<u8>(), 0..600),
        flags in prop::sample::select(vec![0u8, 1, 4]),
    ) {
        let mut header = [0; MAX_HEADER_LEN];
        let n = encode_header(&mut header, flags, body.len());
        let mut buf = BytesMut::from(&header[..n]);
        buf.extend_from_slice(&body);
        let frame = FrameDecoder::new(None).decode(&mut buf).expect("valid").expect("whole");
        prop_assert_eq!(frame.flags, flags);
        prop_assert_eq!(&frame.body[..], &body[..]);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn metadata_parses_to_what_was_encoded(
        props in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 1..20), prop::collection::vec(any::<u8>(), 0..300)),
            0..6,
        ),
    ) {
        let mut metadata = Metadata::new();
        for (name, value) in props {
            metadata.insert(name, value);
        }
        let mut wire = BytesMut::new();
        metadata.encode(&mut wire);
        prop_assert_eq!(Metadata::parse(&wire.freeze()), Ok(metadata));
    }
}

#[test]
fn byte_by_byte_gives_the_same_events_as_all_at_once() {
    let messages = vec![
        Message::from(vec![Bytes::new(), Bytes::from_static(b"hello")]),
        Message::from(Bytes::from(vec![3u8; 70_000])),
        Message::from(Bytes::new()),
    ];
    let stream = client_stream(&messages);
    let every_byte: Vec<usize> = (1..stream.len()).collect();
    assert_eq!(run(&stream, &every_byte), run(&stream, &[]));
}

#[test]
fn every_single_split_point_gives_the_same_events() {
    let messages = vec![
        Message::from(vec![
            Bytes::from_static(b"id"),
            Bytes::new(),
            Bytes::from_static(b"x"),
        ]),
        Message::from(Bytes::from(vec![5u8; 300])),
    ];
    let stream = client_stream(&messages);
    let whole = run(&stream, &[]);
    for cut in 0..=stream.len() {
        assert_eq!(run(&stream, &[cut]), whole, "split at {cut}");
    }
}
