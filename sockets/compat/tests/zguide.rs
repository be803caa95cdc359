//! The ZeroMQ guide's examples, as the `zmq` crate's examples/zguide write them,
//! bounded so that they end: each test runs the example's parts in threads and
//! checks what they print or count. Endpoints use port `*` where the guide fixes
//! one, so tests can run side by side.

mod common;

use std::collections::HashSet;
use std::thread;
use std::time::Duration;

use common::within;
use zmq::SNDMORE;

fn bind_any(socket: &zmq::Socket) -> String {
    socket.bind("tcp://127.0.0.1:*").unwrap();
    socket.get_last_endpoint().unwrap().unwrap()
}

/// hwserver / hwclient: REQ/REP "Hello" / "World".
#[test]
fn hello_world() {
    within(60, || {
        let context = zmq::Context::new();
        let responder = context.socket(zmq::REP).unwrap();
        let endpoint = bind_any(&responder);
        let server = thread::spawn(move || {
            let mut msg = zmq::Message::new();
            for _ in 0..10 {
                responder.recv(&mut msg, 0).unwrap();
                assert_eq!(msg.as_str(), Some("Hello"));
                responder.send("World", 0).unwrap();
            }
        });

        let requester = context.socket(zmq::REQ).unwrap();
        requester.connect(&endpoint).unwrap();
        let mut msg = zmq::Message::new();
        for _ in 0..10 {
            requester.send("Hello", 0).unwrap();
            requester.recv(&mut msg, 0).unwrap();
            assert_eq!(msg.as_str(), Some("World"));
        }
        server.join().unwrap();
    });
}

/// wuserver / wuclient: PUB/SUB weather updates, filtered by zip code.
#[test]
fn weather_updates() {
    within(60, || {
        let context = zmq::Context::new();
        let publisher = context.socket(zmq::PUB).unwrap();
        let endpoint = bind_any(&publisher);
        let subscriber = context.socket(zmq::SUB).unwrap();
        subscriber.connect(&endpoint).unwrap();
        subscriber.set_subscribe(b"10001 ").unwrap();

        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let server = {
            let stop = stop.clone();
            thread::spawn(move || {
                let mut i = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let zipcode = if i.is_multiple_of(3) {
                        10001
                    } else {
                        10000 + i % 7 + 2
                    };
                    let temperature = (i % 215) as i32 - 80;
                    let relhumidity = i % 50 + 10;
                    publisher
                        .send(&format!("{zipcode:05} {temperature} {relhumidity}"), 0)
                        .unwrap();
                    i += 1;
                    if i.is_multiple_of(100) {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
            })
        };

        let mut total_temp = 0;
        for _ in 0..100 {
            let update = subscriber.recv_string(0).unwrap().unwrap();
            let fields: Vec<i64> = update.split(' ').map(|s| s.parse().unwrap()).collect();
            assert_eq!(fields[0], 10001, "a filtered update came through: {update}");
            total_temp += fields[1];
        }
        let _average = total_temp / 100;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        server.join().unwrap();
    });
}

/// taskvent / taskwork / tasksink: a ventilator pushes tasks to workers, which
/// push results to a sink.
#[test]
fn divide_and_conquer() {
    within(60, || {
        let context = zmq::Context::new();
        let sender = context.socket(zmq::PUSH).unwrap();
        let vent = bind_any(&sender);
        let sink = context.socket(zmq::PULL).unwrap();
        let sink_endpoint = bind_any(&sink);

        let workers: Vec<_> = (0..3)
            .map(|_| {
                let context = context.clone();
                let (vent, sink_endpoint) = (vent.clone(), sink_endpoint.clone());
                thread::spawn(move || {
                    let receiver = context.socket(zmq::PULL).unwrap();
                    receiver.connect(&vent).unwrap();
                    let sender = context.socket(zmq::PUSH).unwrap();
                    sender.connect(&sink_endpoint).unwrap();
                    loop {
                        let string = receiver.recv_string(0).unwrap().unwrap();
                        if string == "END" {
                            break;
                        }
                        let msec: u64 = string.parse().unwrap();
                        thread::sleep(Duration::from_millis(msec));
                        sender.send(string.as_str(), 0).unwrap();
                    }
                })
            })
            .collect();

        // The ventilator's "start of batch" goes to the sink.
        let batch = context.socket(zmq::PUSH).unwrap();
        batch.connect(&sink_endpoint).unwrap();
        batch.send("0", 0).unwrap();
        assert_eq!(sink.recv_string(0).unwrap().unwrap(), "0");

        let mut total_msec = 0;
        for task in 0..100u64 {
            let workload = task % 5 + 1;
            total_msec += workload;
            sender.send(&workload.to_string(), 0).unwrap();
        }
        let mut received = 0;
        for _ in 0..100 {
            let done: u64 = sink.recv_string(0).unwrap().unwrap().parse().unwrap();
            received += done;
        }
        assert_eq!(received, total_msec);
        for _ in 0..3 {
            sender.send("END", 0).unwrap();
        }
        for worker in workers {
            worker.join().unwrap();
        }
    });
}

/// rrclient / rrworker / rrbroker: a ROUTER/DEALER broker written with `poll`,
/// moving frames one at a time.
#[test]
fn request_reply_broker() {
    within(60, || {
        let context = zmq::Context::new();
        let frontend = context.socket(zmq::ROUTER).unwrap();
        let backend = context.socket(zmq::DEALER).unwrap();
        let front = bind_any(&frontend);
        let back = bind_any(&backend);

        let worker = {
            let context = context.clone();
            thread::spawn(move || {
                let responder = context.socket(zmq::REP).unwrap();
                responder.connect(&back).unwrap();
                for _ in 0..20 {
                    let string = responder.recv_string(0).unwrap().unwrap();
                    assert_eq!(string, "Hello");
                    responder.send("World", 0).unwrap();
                }
            })
        };
        let client = {
            let context = context.clone();
            thread::spawn(move || {
                let requester = context.socket(zmq::REQ).unwrap();
                requester.connect(&front).unwrap();
                for _ in 0..20 {
                    requester.send("Hello", 0).unwrap();
                    assert_eq!(requester.recv_string(0).unwrap().unwrap(), "World");
                }
            })
        };

        let mut replies = 0;
        while replies < 20 {
            let mut items = [
                frontend.as_poll_item(zmq::POLLIN),
                backend.as_poll_item(zmq::POLLIN),
            ];
            zmq::poll(&mut items, -1).unwrap();
            if items[0].is_readable() {
                loop {
                    let message = frontend.recv_msg(0).unwrap();
                    let more = message.get_more();
                    backend
                        .send(message, if more { SNDMORE } else { 0 })
                        .unwrap();
                    if !more {
                        break;
                    }
                }
            }
            if items[1].is_readable() {
                loop {
                    let message = backend.recv_msg(0).unwrap();
                    let more = message.get_more();
                    frontend
                        .send(message, if more { SNDMORE } else { 0 })
                        .unwrap();
                    if !more {
                        replies += 1;
                        break;
                    }
                }
            }
        }
        client.join().unwrap();
        worker.join().unwrap();
    });
}

/// msgqueue: the same broker as `zmq::proxy`; destroying the context ends it.
#[test]
fn message_queue_proxy() {
    within(60, || {
        let mut context = zmq::Context::new();
        let frontend = context.socket(zmq::ROUTER).unwrap();
        let backend = context.socket(zmq::DEALER).unwrap();
        let front = bind_any(&frontend);
        let back = bind_any(&backend);
        let broker = thread::spawn(move || zmq::proxy(&frontend, &backend));

        let responder = context.socket(zmq::REP).unwrap();
        responder.connect(&back).unwrap();
        let requester = context.socket(zmq::REQ).unwrap();
        requester.connect(&front).unwrap();
        for request in 0..10 {
            requester.send(&request.to_string(), 0).unwrap();
            let got = responder.recv_string(0).unwrap().unwrap();
            responder.send(&format!("{got} done"), 0).unwrap();
            assert_eq!(
                requester.recv_string(0).unwrap().unwrap(),
                format!("{request} done")
            );
        }
        context.destroy().unwrap();
        assert_eq!(broker.join().unwrap(), Err(zmq::Error::ETERM));
    });
}

/// mspoller: one thread reads a PULL and a SUB with `poll`.
#[test]
fn multiple_socket_poller() {
    within(60, || {
        let context = zmq::Context::new();
        let receiver = context.socket(zmq::PULL).unwrap();
        receiver.bind("inproc://mspoller-tasks").unwrap();
        let subscriber = context.socket(zmq::SUB).unwrap();
        subscriber.bind("inproc://mspoller-weather").unwrap();
        subscriber.set_subscribe(b"10001").unwrap();

        let ventilator = context.socket(zmq::PUSH).unwrap();
        ventilator.connect("inproc://mspoller-tasks").unwrap();
        let publisher = context.socket(zmq::PUB).unwrap();
        publisher.connect("inproc://mspoller-weather").unwrap();
        for i in 0..5 {
            ventilator.send(&format!("task {i}"), 0).unwrap();
        }

        let mut tasks = 0;
        let mut updates = 0;
        while tasks < 5 || updates < 5 {
            // The subscription may take a moment to reach the publisher.
            publisher.send("10001 weather", 0).unwrap();
            let mut items = [
                receiver.as_poll_item(zmq::POLLIN),
                subscriber.as_poll_item(zmq::POLLIN),
            ];
            zmq::poll(&mut items, 10).unwrap();
            if items[0].is_readable() {
                assert!(
                    receiver
                        .recv_string(0)
                        .unwrap()
                        .unwrap()
                        .starts_with("task ")
                );
                tasks += 1;
            }
            if items[1].is_readable() {
                assert_eq!(subscriber.recv_string(0).unwrap().unwrap(), "10001 weather");
                updates += 1;
            }
        }
    });
}

/// rtreq: a ROUTER hands out work to REQ workers by their routing ids, and fires
/// them.
#[test]
fn router_to_req() {
    within(60, || {
        let context = zmq::Context::new();
        let broker = context.socket(zmq::ROUTER).unwrap();
        let endpoint = bind_any(&broker);
        let workers: Vec<_> = (0..5)
            .map(|n| {
                let endpoint = endpoint.clone();
                thread::spawn(move || {
                    let context = zmq::Context::new();
                    let worker = context.socket(zmq::REQ).unwrap();
                    worker
                        .set_identity(format!("worker-{n}").as_bytes())
                        .unwrap();
                    worker.connect(&endpoint).unwrap();
                    let mut total = 0;
                    loop {
                        worker.send("Hi boss!", 0).unwrap();
                        let workload = worker.recv_string(0).unwrap().unwrap();
                        if workload == "Fired!" {
                            return total;
                        }
                        total += 1;
                    }
                })
            })
            .collect();

        let mut handed_out = 0;
        let mut fired = HashSet::new();
        while fired.len() < 5 {
            let identity = broker.recv_bytes(0).unwrap();
            broker.send(&identity, SNDMORE).unwrap();
            assert!(broker.recv_bytes(0).unwrap().is_empty()); // envelope delimiter
            assert_eq!(broker.recv_string(0).unwrap().unwrap(), "Hi boss!");
            broker.send("", SNDMORE).unwrap();
            if handed_out < 50 {
                broker.send("Work harder", 0).unwrap();
                handed_out += 1;
            } else {
                broker.send("Fired!", 0).unwrap();
                fired.insert(identity);
            }
        }
        let done: i32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(done, 50);
    });
}

/// lbbroker: the load-balancing broker, ROUTER to ROUTER, over ipc.
#[test]
fn load_balancing_broker() {
    within(60, || {
        let dir = std::env::temp_dir();
        let pid = std::process::id();
        let front = format!("ipc://{}/lbbroker-frontend-{pid}.ipc", dir.display());
        let back = format!("ipc://{}/lbbroker-backend-{pid}.ipc", dir.display());
        let context = zmq::Context::new();
        let frontend = context.socket(zmq::ROUTER).unwrap();
        let backend = context.socket(zmq::ROUTER).unwrap();
        frontend.bind(&front).unwrap();
        backend.bind(&back).unwrap();

        let clients: Vec<_> = (0..10)
            .map(|n| {
                let front = front.clone();
                thread::spawn(move || {
                    let context = zmq::Context::new();
                    let client = context.socket(zmq::REQ).unwrap();
                    client
                        .set_identity(format!("Client{n}").as_bytes())
                        .unwrap();
                    client.connect(&front).unwrap();
                    client.send("HELLO", 0).unwrap();
                    assert_eq!(client.recv_string(0).unwrap().unwrap(), "OK");
                })
            })
            .collect();
        for n in 0..3 {
            let back = back.clone();
            // Workers serve until the process ends, as in the guide.
            thread::spawn(move || {
                let context = zmq::Context::new();
                let worker = context.socket(zmq::REQ).unwrap();
                worker
                    .set_identity(format!("Worker{n}").as_bytes())
                    .unwrap();
                worker.connect(&back).unwrap();
                worker.send("READY", 0).unwrap();
                loop {
                    let Ok(Ok(identity)) = worker.recv_string(0) else {
                        return;
                    };
                    assert!(worker.recv_string(0).unwrap().unwrap().is_empty());
                    assert_eq!(worker.recv_string(0).unwrap().unwrap(), "HELLO");
                    worker.send(&identity, SNDMORE).unwrap();
                    worker.send("", SNDMORE).unwrap();
                    worker.send("OK", 0).unwrap();
                }
            });
        }

        let mut client_nbr = 10;
        let mut worker_queue = Vec::new();
        loop {
            let mut items = [
                backend.as_poll_item(zmq::POLLIN),
                frontend.as_poll_item(zmq::POLLIN),
            ];
            let polled = if worker_queue.is_empty() { 1 } else { 2 };
            zmq::poll(&mut items[0..polled], -1).unwrap();
            if items[0].is_readable() {
                let worker_id = backend.recv_string(0).unwrap().unwrap();
                assert!(backend.recv_string(0).unwrap().unwrap().is_empty());
                worker_queue.push(worker_id);
                let client_id = backend.recv_string(0).unwrap().unwrap();
                if client_id != "READY" {
                    assert!(backend.recv_string(0).unwrap().unwrap().is_empty());
                    let reply = backend.recv_string(0).unwrap().unwrap();
                    frontend.send(&client_id, SNDMORE).unwrap();
                    frontend.send("", SNDMORE).unwrap();
                    frontend.send(&reply, 0).unwrap();
                    client_nbr -= 1;
                    if client_nbr == 0 {
                        break;
                    }
                }
            }
            if items[1].is_readable() {
                let client_id = frontend.recv_string(0).unwrap().unwrap();
                assert!(frontend.recv_string(0).unwrap().unwrap().is_empty());
                let request = frontend.recv_string(0).unwrap().unwrap();
                let worker = worker_queue.pop().unwrap();
                backend.send(&worker, SNDMORE).unwrap();
                backend.send("", SNDMORE).unwrap();
                backend.send(client_id.as_bytes(), SNDMORE).unwrap();
                backend.send("", SNDMORE).unwrap();
                backend.send(&request, 0).unwrap();
            }
        }
        for client in clients {
            client.join().unwrap();
        }
    });
}

/// mtrelay: threads signal each other over inproc PAIRs.
#[test]
fn multithreaded_relay() {
    within(60, || {
        let context = zmq::Context::new();
        let receiver = context.socket(zmq::PAIR).unwrap();
        receiver.bind("inproc://mtrelay-step3").unwrap();
        let step2 = {
            let context = context.clone();
            thread::spawn(move || {
                let receiver = context.socket(zmq::PAIR).unwrap();
                receiver.bind("inproc://mtrelay-step2").unwrap();
                let ctx = context.clone();
                let step1 = thread::spawn(move || {
                    let xmitter = ctx.socket(zmq::PAIR).unwrap();
                    xmitter.connect("inproc://mtrelay-step2").unwrap();
                    xmitter.send("READY", 0).unwrap();
                });
                assert_eq!(receiver.recv_msg(0).unwrap().as_str(), Some("READY"));
                let xmitter = context.socket(zmq::PAIR).unwrap();
                xmitter.connect("inproc://mtrelay-step3").unwrap();
                xmitter.send("READY", 0).unwrap();
                step1.join().unwrap();
            })
        };
        assert_eq!(receiver.recv_msg(0).unwrap().as_str(), Some("READY"));
        step2.join().unwrap();
    });
}

/// mtserver: a steerable proxy in front of inproc worker threads; TERMINATE on
/// the control socket ends it.
#[test]
fn multithreaded_server() {
    within(60, || {
        let context = zmq::Context::new();
        let mut clients = context.socket(zmq::ROUTER).unwrap();
        let endpoint = bind_any(&clients);
        let mut workers = context.socket(zmq::DEALER).unwrap();
        workers.bind("inproc://mtserver-workers").unwrap();
        let mut control = context.socket(zmq::PAIR).unwrap();
        control.bind("inproc://mtserver-control").unwrap();

        for _ in 0..5 {
            let context = context.clone();
            thread::spawn(move || {
                let receiver = context.socket(zmq::REP).unwrap();
                receiver.connect("inproc://mtserver-workers").unwrap();
                while let Ok(Ok(string)) = receiver.recv_string(0) {
                    if receiver.send(&format!("World for {string}"), 0).is_err() {
                        return;
                    }
                }
            });
        }
        let server = thread::spawn(move || {
            let result = zmq::proxy_steerable(&mut clients, &mut workers, &mut control);
            (result, clients, workers, control)
        });

        let requester = context.socket(zmq::REQ).unwrap();
        requester.connect(&endpoint).unwrap();
        for n in 0..10 {
            requester.send(&format!("Hello {n}"), 0).unwrap();
            assert_eq!(
                requester.recv_string(0).unwrap().unwrap(),
                format!("World for Hello {n}")
            );
        }
        let steer = context.socket(zmq::PAIR).unwrap();
        steer.connect("inproc://mtserver-control").unwrap();
        steer.send("TERMINATE", 0).unwrap();
        let (result, ..) = server.join().unwrap();
        assert_eq!(result, Ok(()));
    });
}

/// psenvpub / psenvsub: pub-sub envelopes, the key in a frame of its own.
#[test]
fn pubsub_envelopes() {
    within(60, || {
        let context = zmq::Context::new();
        let publisher = context.socket(zmq::PUB).unwrap();
        let endpoint = bind_any(&publisher);
        let subscriber = context.socket(zmq::SUB).unwrap();
        subscriber.connect(&endpoint).unwrap();
        subscriber.set_subscribe(b"B").unwrap();
        let mut received = 0;
        while received < 3 {
            publisher.send("A", SNDMORE).unwrap();
            publisher.send("We don't want to see this", 0).unwrap();
            publisher.send("B", SNDMORE).unwrap();
            publisher.send("We would like to see this", 0).unwrap();
            if subscriber.poll(zmq::POLLIN, 10).unwrap() == 0 {
                continue;
            }
            let envelope = subscriber.recv_string(0).unwrap().unwrap();
            let message = subscriber.recv_string(0).unwrap().unwrap();
            assert_eq!(
                (envelope.as_str(), message.as_str()),
                ("B", "We would like to see this")
            );
            received += 1;
        }
    });
}

/// syncpub / syncsub: subscribers say they are ready over REQ/REP before the
/// publisher sends, so none of the updates is lost.
#[test]
fn synchronized_publisher() {
    within(60, || {
        const SUBSCRIBERS: usize = 3;
        const UPDATES: usize = 1000;
        let context = zmq::Context::new();
        let publisher = context.socket(zmq::PUB).unwrap();
        publisher.set_sndhwm(1_100_000).unwrap();
        let endpoint = bind_any(&publisher);
        let syncservice = context.socket(zmq::REP).unwrap();
        let sync_endpoint = bind_any(&syncservice);

        let subscribers: Vec<_> = (0..SUBSCRIBERS)
            .map(|_| {
                let context = context.clone();
                let (endpoint, sync_endpoint) = (endpoint.clone(), sync_endpoint.clone());
                thread::spawn(move || {
                    let subscriber = context.socket(zmq::SUB).unwrap();
                    subscriber.connect(&endpoint).unwrap();
                    subscriber.set_subscribe(b"").unwrap();
                    // Once a warm-up message arrives, the subscription is in: only
                    // then say ready (the guide sleeps instead).
                    assert_eq!(subscriber.recv_string(0).unwrap().unwrap(), "WARMUP");
                    let syncclient = context.socket(zmq::REQ).unwrap();
                    syncclient.connect(&sync_endpoint).unwrap();
                    syncclient.send("", 0).unwrap();
                    syncclient.recv_msg(0).unwrap();
                    let mut count = 0;
                    loop {
                        match subscriber.recv_string(0).unwrap().unwrap().as_str() {
                            "END" => return count,
                            "WARMUP" => {}
                            _ => count += 1,
                        }
                    }
                })
            })
            .collect();

        let mut ready = 0;
        while ready < SUBSCRIBERS {
            publisher.send("WARMUP", 0).unwrap();
            if syncservice.poll(zmq::POLLIN, 10).unwrap() == 1 {
                syncservice.recv_msg(0).unwrap();
                syncservice.send("", 0).unwrap();
                ready += 1;
            }
        }
        for _ in 0..UPDATES {
            publisher.send("Rhubarb", 0).unwrap();
        }
        publisher.send("END", 0).unwrap();
        for subscriber in subscribers {
            assert_eq!(subscriber.join().unwrap(), UPDATES);
        }
    });
}

/// wuproxy: an XSUB/XPUB proxy between a publisher and subscribers, with a
/// capture socket seeing the traffic.
#[test]
fn weather_proxy_with_capture() {
    within(60, || {
        let mut context = zmq::Context::new();
        let mut frontend = context.socket(zmq::XSUB).unwrap();
        let mut backend = context.socket(zmq::XPUB).unwrap();
        let mut capture = context.socket(zmq::PUSH).unwrap();
        let upstream = context.socket(zmq::PUB).unwrap();
        let up = bind_any(&upstream);
        frontend.connect(&up).unwrap();
        let down = bind_any(&backend);
        capture.bind("inproc://wuproxy-capture").unwrap();
        let tap = context.socket(zmq::PULL).unwrap();
        tap.connect("inproc://wuproxy-capture").unwrap();
        let proxy = thread::spawn(move || {
            zmq::proxy_with_capture(&mut frontend, &mut backend, &mut capture)
        });

        let subscriber = context.socket(zmq::SUB).unwrap();
        subscriber.set_subscribe(b"").unwrap();
        subscriber.connect(&down).unwrap();
        let update = loop {
            upstream.send("10001 20 30", 0).unwrap();
            if subscriber.poll(zmq::POLLIN, 20).unwrap() == 1 {
                break subscriber.recv_string(0).unwrap().unwrap();
            }
        };
        assert_eq!(update, "10001 20 30");
        // The capture saw the subscription go up and updates come down.
        let mut captured = HashSet::new();
        while captured.len() < 2 {
            captured.insert(tap.recv_bytes(0).unwrap());
        }
        assert!(captured.contains(b"\x01".as_slice()));
        assert!(captured.contains(b"10001 20 30".as_slice()));
        context.destroy().unwrap();
        assert_eq!(proxy.join().unwrap(), Err(zmq::Error::ETERM));
    });
}
