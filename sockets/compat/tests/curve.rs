//! CURVE, as the `zmq` crate's curve tests use it.

mod common;

use common::within;
use zmq::{Context, CurveKeyPair, z85_decode};

#[test]
fn curve_messages_cross_an_encrypted_pair() {
    assert_eq!(zmq::has("curve"), Some(true));
    within(60, || {
        let ctx = Context::default();
        let client = ctx.socket(zmq::REQ).unwrap();
        let server = ctx.socket(zmq::REP).unwrap();
        let server_pair = CurveKeyPair::new().unwrap();
        let client_pair = CurveKeyPair::new().unwrap();
        server.set_curve_server(true).unwrap();
        server.set_curve_secretkey(&server_pair.secret_key).unwrap();
        client.set_curve_serverkey(&server_pair.public_key).unwrap();
        client.set_curve_publickey(&client_pair.public_key).unwrap();
        client.set_curve_secretkey(&client_pair.secret_key).unwrap();
        server.bind("tcp://127.0.0.1:*").unwrap();
        client
            .connect(&server.get_last_endpoint().unwrap().unwrap())
            .unwrap();

        client.send("foo", 0).unwrap();
        let msg = server.recv_msg(0).unwrap();
        assert_eq!(msg.as_str(), Some("foo"));
        server.send("bar", 0).unwrap();
        assert_eq!(&client.recv_msg(0).unwrap()[..], b"bar");
    });
}

#[test]
fn a_client_with_the_wrong_server_key_gets_nothing_through() {
    within(60, || {
        let ctx = Context::new();
        let server = ctx.socket(zmq::REP).unwrap();
        let server_pair = CurveKeyPair::new().unwrap();
        server.set_curve_server(true).unwrap();
        server.set_curve_secretkey(&server_pair.secret_key).unwrap();
        server.set_rcvtimeo(500).unwrap();
        server.bind("tcp://127.0.0.1:*").unwrap();

        let client = ctx.socket(zmq::REQ).unwrap();
        let client_pair = CurveKeyPair::new().unwrap();
        let impostor = CurveKeyPair::new().unwrap();
        client.set_curve_serverkey(&impostor.public_key).unwrap();
        client.set_curve_secretkey(&client_pair.secret_key).unwrap();
        client.set_linger(0).unwrap();
        client
            .connect(&server.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        client.send("let me in", 0).unwrap();
        assert_eq!(server.recv_msg(0), Err(zmq::Error::EAGAIN));
    });
}

#[test]
fn curve_keys_read_back() {
    let keypair = CurveKeyPair::new().unwrap();
    assert_ne!(keypair.public_key, keypair.secret_key);

    let ctx = Context::new();
    let sock = ctx.socket(zmq::REQ).unwrap();
    sock.set_curve_server(true).unwrap();
    assert!(sock.is_curve_server().unwrap());
    assert_eq!(sock.get_mechanism().unwrap(), zmq::Mechanism::ZMQ_CURVE);

    let public = z85_decode("FX5b8g5ZnOk7$Q}^)Y&?.v3&MIe+]OU7DTKynkUL").unwrap();
    sock.set_curve_publickey(&public).unwrap();
    assert_eq!(sock.get_curve_publickey().unwrap(), public);
    let secret = z85_decode("s9N%S3*NKSU$6pUnpBI&K5HBd[]G$Y3yrK?mhdbS").unwrap();
    sock.set_curve_secretkey(&secret).unwrap();
    assert_eq!(sock.get_curve_secretkey().unwrap(), secret);
    // Z85 text is taken too, as by libzmq.
    sock.set_curve_serverkey(b"FX5b8g5ZnOk7$Q}^)Y&?.v3&MIe+]OU7DTKynkUL")
        .unwrap();
    assert_eq!(sock.get_curve_serverkey().unwrap(), public);
    assert_eq!(sock.set_curve_serverkey(b"short"), Err(zmq::Error::EINVAL));
}
