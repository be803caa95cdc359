//! Throughput of the sans-IO ZMTP codec in `purezmq-zmtp`, with no I/O at all.
//!
//! Every case works on a batch of single-frame messages of one size (32 B or 64 KiB):
//!
//! - `decode/frame`: `FrameDecoder::decode` until the receive buffer is empty;
//! - `decode/connection`: `Connection::process` on a receive buffer holding the batch,
//!   then `poll_event` until no `Event::Message` is left (the whole receive path);
//! - `encode/frame`: `SendBuffer::push_frame` for the batch, then `chunks` + `advance`
//!   as a `writev` that takes everything would;
//! - `encode/connection`: `Connection::send_frame` for the batch, then draining
//!   `send_buffer` the same way.
//!
//! Each case runs in two groups: `frames` reports frames per second, `bytes` payload
//! octets per second (frame headers not counted).
//!
//! The receive buffer is refilled between iterations without copying the batch again
//! (see [`Refill`]): the decoder never copies a payload, so a refill by `memcpy` would
//! cost far more than the decoding being measured, and for 64 KiB frames would make
//! the run last many minutes. The refill, like I/O, is outside the timed section.

use std::hint::black_box;
use std::mem;
use std::time::{Duration, Instant as StdInstant};

use bytes::{Bytes, BytesMut};
use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
use purezmq_zmtp::frame::{FrameDecoder, MAX_HEADER_LEN, encode_header};
use purezmq_zmtp::mechanism::Null;
use purezmq_zmtp::{Config, Connection, Event, Instant, SendBuffer, SocketType};

/// Payload sizes, with the label used in benchmark names.
const SIZES: [(usize, &str); 2] = [(32, "32B"), (64 * 1024, "64KiB")];

/// A batch is about this many wire octets...
const BATCH_OCTETS: usize = 1 << 20;
/// ...or at least this many frames.
const MIN_BATCH_FRAMES: usize = 1000;

/// Linux's IOV_MAX: the most chunks one `writev` takes.
const IOV_MAX: usize = 1024;

/// One batch of single-frame messages, all with the same payload.
struct Batch {
    /// The payload of every frame.
    payload: Bytes,
    /// How many frames.
    frames: usize,
    /// The frames as they travel: header, body, header, body...
    wire: Bytes,
}

impl Batch {
    fn new(size: usize) -> Batch {
        let payload = Bytes::from(vec![0xA5; size]);
        let mut header = [0; MAX_HEADER_LEN];
        let header_len = encode_header(&mut header, 0, size);
        let frames = (BATCH_OCTETS / (header_len + size)).max(MIN_BATCH_FRAMES);
        let mut wire = Vec::with_capacity(frames * (header_len + size));
        for _ in 0..frames {
            wire.extend_from_slice(&header[..header_len]);
            wire.extend_from_slice(&payload);
        }
        Batch {
            payload,
            frames,
            wire: Bytes::from(wire),
        }
    }
}

/// A receive buffer that gets the same batch back, iteration after iteration, without
/// copying it again.
///
/// Decoding splits frames off the buffer as `Bytes` sharing its allocation. Once they
/// are all dropped, `BytesMut::try_reclaim` hands the whole allocation back, still
/// holding the batch written into it the first time, and only the length needs
/// restoring. This is how a real engine reuses its receive buffer; what it skips is
/// the kernel's copy, which is I/O.
struct Refill {
    buf: BytesMut,
    /// Where the batch was written, if it is known to be there.
    filled_at: Option<*const u8>,
    wire: Bytes,
}

impl Refill {
    fn new(wire: &Bytes) -> Refill {
        Refill {
            buf: BytesMut::new(),
            filled_at: None,
            wire: wire.clone(),
        }
    }

    /// The buffer, holding the whole batch.
    fn take(&mut self) -> BytesMut {
        let len = self.wire.len();
        let mut buf = mem::take(&mut self.buf);
        assert!(buf.is_empty(), "the previous batch was not consumed");
        let reclaimed = buf.try_reclaim(len);
        if reclaimed && self.filled_at == Some(buf.as_ptr()) && buf.capacity() >= len {
            // SAFETY: `len` is within the capacity, and these octets are initialised:
            // the batch was written here by `extend_from_slice` below, into this very
            // allocation (it was never freed: only the last handle to it can reclaim
            // it, and nothing can write through the frozen `Bytes` split off it).
            unsafe { buf.set_len(len) };
        } else {
            buf.clear();
            buf.reserve(len);
            buf.extend_from_slice(&self.wire);
            self.filled_at = Some(buf.as_ptr());
        }
        buf
    }

    /// Returns the buffer, emptied.
    fn put_back(&mut self, buf: BytesMut) {
        self.buf = buf;
    }
}

/// A PUSH connection and a PULL connection that completed a NULL handshake.
fn ready_pair() -> (Connection, Connection) {
    let now = Instant::ZERO;
    let null = || Box::new(Null::new());
    let mut push = Connection::new(Config::new(SocketType::Push), null(), now);
    let mut pull = Connection::new(Config::new(SocketType::Pull), null(), now);
    while !push.send_buffer().is_empty() || !pull.send_buffer().is_empty() {
        let to_pull = push.send_buffer().take_all();
        pull.feed(&to_pull, now).expect("handshake");
        let to_push = pull.send_buffer().take_all();
        push.feed(&to_push, now).expect("handshake");
    }
    for conn in [&mut push, &mut pull] {
        assert!(conn.is_ready());
        assert!(matches!(
            conn.poll_event(),
            Some(Event::HandshakeSucceeded(_))
        ));
        assert!(conn.poll_event().is_none());
    }
    (push, pull)
}

/// Empties `send` as a `writev` taking every chunk it is offered would; returns the
/// octets written.
fn drain(send: &mut SendBuffer) -> usize {
    let mut written = 0;
    while !send.is_empty() {
        let mut iov = [&[][..]; IOV_MAX];
        let n = send.chunks(&mut iov);
        let taken: usize = iov[..n].iter().map(|chunk| chunk.len()).sum();
        black_box(&iov[..n]);
        send.advance(taken);
        written += taken;
    }
    written
}

/// One benchmark case, run on a batch.
type Case = fn(&mut Bencher, &Batch);

fn decode_frame(b: &mut Bencher, batch: &Batch) {
    let decoder = FrameDecoder::new(None);
    let mut refill = Refill::new(&batch.wire);
    b.iter_custom(|iters| {
        let mut elapsed = Duration::ZERO;
        for _ in 0..iters {
            let mut buf = refill.take();
            let start = StdInstant::now();
            let mut frames = 0;
            while let Some(frame) = decoder.decode(&mut buf).expect("valid frames") {
                black_box(frame);
                frames += 1;
            }
            elapsed += start.elapsed();
            assert_eq!(frames, batch.frames);
            refill.put_back(buf);
        }
        elapsed
    });
}

fn decode_connection(b: &mut Bencher, batch: &Batch) {
    let (_push, mut pull) = ready_pair();
    let mut refill = Refill::new(&batch.wire);
    b.iter_custom(|iters| {
        let mut elapsed = Duration::ZERO;
        for _ in 0..iters {
            *pull.recv_buffer() = refill.take();
            let start = StdInstant::now();
            pull.process(Instant::ZERO).expect("valid frames");
            let mut messages = 0;
            while let Some(event) = pull.poll_event() {
                let Event::Message(message) = event else {
                    panic!("unexpected event {event:?}");
                };
                black_box(message);
                messages += 1;
            }
            elapsed += start.elapsed();
            assert_eq!(messages, batch.frames);
            refill.put_back(mem::take(pull.recv_buffer()));
        }
        elapsed
    });
}

fn encode_frame(b: &mut Bencher, batch: &Batch) {
    let mut send = SendBuffer::new();
    b.iter(|| {
        for _ in 0..batch.frames {
            send.push_frame(0, &batch.payload);
        }
        black_box(drain(&mut send))
    });
}

fn encode_connection(b: &mut Bencher, batch: &Batch) {
    let (mut push, _pull) = ready_pair();
    b.iter(|| {
        for _ in 0..batch.frames {
            push.send_frame(&batch.payload, false).expect("ready");
        }
        black_box(drain(push.send_buffer()))
    });
}

fn codec(c: &mut Criterion) {
    let batches: Vec<_> = SIZES
        .iter()
        .map(|&(size, label)| (label, Batch::new(size)))
        .collect();
    let cases: [(&str, Case); 4] = [
        ("decode/frame", decode_frame),
        ("decode/connection", decode_connection),
        ("encode/frame", encode_frame),
        ("encode/connection", encode_connection),
    ];
    for unit in ["frames", "bytes"] {
        let mut group = c.benchmark_group(unit);
        group
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .sample_size(30);
        for (label, batch) in &batches {
            group.throughput(if unit == "frames" {
                Throughput::Elements(batch.frames as u64)
            } else {
                Throughput::Bytes((batch.frames * batch.payload.len()) as u64)
            });
            for (case, run) in cases {
                group.bench_function(format!("{case}/{label}"), |b| run(b, batch));
            }
        }
        group.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
