//! `Socket::monitor`: libzmq's two-frame events on a PAIR, as the `zmq` crate's
//! monitor test reads them.

mod common;

use common::within;
use zmq::SocketEvent;

/// One event off a monitor PAIR: the event, its value and the endpoint.
fn next_event(monitor: &zmq::Socket) -> (SocketEvent, u32, String) {
    let head = monitor.recv_msg(0).unwrap();
    assert_eq!(head.len(), 6, "an event frame is a u16 and a u32");
    assert!(monitor.get_rcvmore().unwrap(), "an event has two frames");
    let event = u16::from_ne_bytes([head[0], head[1]]);
    let value = u32::from_ne_bytes([head[2], head[3], head[4], head[5]]);
    let endpoint = monitor.recv_string(0).unwrap().unwrap();
    assert!(!monitor.get_rcvmore().unwrap());
    (SocketEvent::from_raw(event), value, endpoint)
}

/// Events until `last`, which must come.
fn events_until(monitor: &zmq::Socket, last: SocketEvent) -> Vec<SocketEvent> {
    let mut seen = Vec::new();
    loop {
        let (event, _, _) = next_event(monitor);
        seen.push(event);
        if event == last {
            return seen;
        }
    }
}

fn bounce(client: &zmq::Socket, server: &zmq::Socket) {
    let data = "12345678ABCDEFGH12345678abcdefgh";
    client.send(data, zmq::SNDMORE).unwrap();
    client.send(data, 0).unwrap();
    let parts = server.recv_multipart(0).unwrap();
    assert_eq!(parts, vec![data.as_bytes(), data.as_bytes()]);
    server.send_multipart(&parts, 0).unwrap();
    assert_eq!(client.recv_multipart(0).unwrap(), parts);
}

#[test]
fn monitors_publish_libzmq_events_on_inproc_pairs() {
    within(60, || {
        let ctx = zmq::Context::new();
        let client = ctx.socket(zmq::DEALER).unwrap();
        let server = ctx.socket(zmq::DEALER).unwrap();
        assert_eq!(
            client.monitor("tcp://127.0.0.1:9999", 0),
            Err(zmq::Error::EPROTONOSUPPORT)
        );
        client
            .monitor("inproc://monitor-client", SocketEvent::ALL as i32)
            .unwrap();
        server
            .monitor("inproc://monitor-server", SocketEvent::ALL as i32)
            .unwrap();
        let client_mon = ctx.socket(zmq::PAIR).unwrap();
        let server_mon = ctx.socket(zmq::PAIR).unwrap();
        client_mon.connect("inproc://monitor-client").unwrap();
        server_mon.connect("inproc://monitor-server").unwrap();

        server.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = server.get_last_endpoint().unwrap().unwrap();
        client.connect(&endpoint).unwrap();
        bounce(&client, &server);
        client.set_linger(0).unwrap();
        drop(client);

        // As the `zmq` crate's monitor test expects from libzmq 4.3.
        let mut client_events = events_until(&client_mon, SocketEvent::MONITOR_STOPPED);
        client_events.retain(|e| *e != SocketEvent::CONNECT_DELAYED);
        assert_eq!(
            client_events,
            [
                SocketEvent::CONNECTED,
                SocketEvent::HANDSHAKE_SUCCEEDED,
                SocketEvent::MONITOR_STOPPED
            ]
        );

        let (listening, _, at) = next_event(&server_mon);
        assert_eq!(listening, SocketEvent::LISTENING);
        assert_eq!(at, endpoint);
        assert_eq!(
            events_until(&server_mon, SocketEvent::DISCONNECTED),
            [
                SocketEvent::ACCEPTED,
                SocketEvent::HANDSHAKE_SUCCEEDED,
                SocketEvent::DISCONNECTED
            ]
        );
        server.set_linger(0).unwrap();
        drop(server);
        assert_eq!(
            events_until(&server_mon, SocketEvent::MONITOR_STOPPED),
            [SocketEvent::CLOSED, SocketEvent::MONITOR_STOPPED]
        );
    });
}

#[test]
fn the_event_mask_filters() {
    within(60, || {
        let ctx = zmq::Context::new();
        let server = ctx.socket(zmq::PULL).unwrap();
        server
            .monitor("inproc://monitor-mask", SocketEvent::ACCEPTED as i32)
            .unwrap();
        let mon = ctx.socket(zmq::PAIR).unwrap();
        mon.connect("inproc://monitor-mask").unwrap();
        server.bind("tcp://127.0.0.1:*").unwrap();
        let client = ctx.socket(zmq::PUSH).unwrap();
        client
            .connect(&server.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        let (event, _, _) = next_event(&mon);
        assert_eq!(event, SocketEvent::ACCEPTED);
        client.send("x", 0).unwrap();
        assert_eq!(server.recv_bytes(0).unwrap(), b"x");
        assert_eq!(mon.recv_msg(zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
    });
}

#[test]
fn inproc_events_name_the_endpoint_as_bound() {
    within(60, || {
        let ctx = zmq::Context::new();
        let server = ctx.socket(zmq::PULL).unwrap();
        server
            .monitor("inproc://monitor-inproc", SocketEvent::LISTENING as i32)
            .unwrap();
        let mon = ctx.socket(zmq::PAIR).unwrap();
        mon.connect("inproc://monitor-inproc").unwrap();
        server.bind("inproc://monitored").unwrap();
        let (event, _, endpoint) = next_event(&mon);
        assert_eq!(event, SocketEvent::LISTENING);
        assert_eq!(endpoint, "inproc://monitored");
    });
}
