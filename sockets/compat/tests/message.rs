//! `Message` equality and conversions, and frames through a socket, for any bytes
//! (the `zmq` crate checks the first three with quickcheck).

use proptest::prelude::*;

proptest! {
    #[test]
    fn equal_bytes_make_equal_messages(input: Vec<u8>) {
        prop_assert_eq!(zmq::Message::from(&input), zmq::Message::from(&input));
    }

    #[test]
    fn different_bytes_make_different_messages(a: Vec<u8>, b: Vec<u8>) {
        prop_assume!(a != b);
        prop_assert_ne!(zmq::Message::from(&a), zmq::Message::from(&b));
    }

    #[test]
    fn a_vector_converts_as_its_copy_does(input: Vec<u8>) {
        let copy = zmq::Message::from(&input[..]);
        prop_assert_eq!(zmq::Message::from(input), copy);
    }

    #[test]
    fn frames_cross_a_socket_unchanged(frames in proptest::collection::vec(any::<Vec<u8>>(), 1..6)) {
        let ctx = zmq::Context::new();
        let pull = ctx.socket(zmq::PULL).unwrap();
        pull.bind("inproc://message-frames").unwrap();
        let push = ctx.socket(zmq::PUSH).unwrap();
        push.connect("inproc://message-frames").unwrap();
        push.send_multipart(&frames, 0).unwrap();
        prop_assert_eq!(pull.recv_multipart(0).unwrap(), frames.clone());
        // And frame at a time, with get_more on each.
        for (i, frame) in frames.iter().enumerate() {
            let more = if i + 1 < frames.len() { zmq::SNDMORE } else { 0 };
            push.send(frame.clone(), more).unwrap();
        }
        for (i, frame) in frames.iter().enumerate() {
            let msg = pull.recv_msg(0).unwrap();
            prop_assert_eq!(&msg[..], &frame[..]);
            prop_assert_eq!(msg.get_more(), i + 1 < frames.len());
        }
    }
}
