//! The gateway as a library, the way `purezmq up` runs it: a broker, a worker and
//! the gateway in one process, joined by inproc, and HTTP from reqwest.

use std::time::Duration;

use bytes::Bytes;
use purezmq_broker::broker::{Broker, BrokerConfig};
use purezmq_broker::http::{Gateway, GatewayConfig, GatewayError};
use purezmq_broker::worker::{Request, Worker};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_worker_and_gateway_in_one_process_over_inproc() {
    let endpoint = "inproc://http-library-test";
    let broker = Broker::new(BrokerConfig::default())
        .bind(endpoint)
        .spawn()
        .unwrap();
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(Worker::new(endpoint, "upper").run(
        |request: Request| async move {
            request
                .body
                .iter()
                .map(|frame| Bytes::from(frame.to_ascii_uppercase()))
                .collect()
        },
        async move {
            let _ = worker_stopped.await;
        },
    ));

    let gateway = Gateway::bind(GatewayConfig {
        brokers: vec![endpoint.to_owned()],
        listen: "127.0.0.1:0".parse().unwrap(),
        timeout: Some(Duration::from_secs(10)),
        ..GatewayConfig::default()
    })
    .await
    .unwrap();
    let addr = gateway.local_addr();
    assert_ne!(addr.port(), 0, "the port the system chose");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(gateway.serve(async move {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder().timeout(LIMIT).build().unwrap();
    let url = format!("http://{addr}/upper?args=%5B%22hello%22%2C%22world%22%5D");
    let start = std::time::Instant::now();
    let reply = loop {
        let response = client.get(&url).send().await.unwrap();
        // 503 until the worker's READY has reached the broker.
        if response.status() == 200 {
            break response.json::<serde_json::Value>().await.unwrap();
        }
        assert_eq!(response.status(), 503);
        assert!(start.elapsed() < LIMIT, "the worker never registered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(reply, serde_json::json!(["HELLO", "WORLD"]));

    let _ = stop.send(());
    tokio::time::timeout(LIMIT, serving)
        .await
        .expect("serve returns after the shutdown future")
        .unwrap()
        .unwrap();
    assert!(
        client.get(&url).send().await.is_err(),
        "nothing listens after serve returned"
    );
    let _ = stop_worker.send(());
    let _ = tokio::time::timeout(LIMIT, worker).await;
    broker.stop().await.unwrap();
}

#[tokio::test]
async fn bad_settings_and_a_taken_port_are_errors() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let error = Gateway::bind(GatewayConfig {
        listen: taken.local_addr().unwrap(),
        ..GatewayConfig::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(error, GatewayError::Bind { .. }), "{error}");

    let error = Gateway::bind(GatewayConfig {
        brokers: vec!["nowhere".to_owned()],
        listen: "127.0.0.1:0".parse().unwrap(),
        ..GatewayConfig::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(error, GatewayError::Broker(_)), "{error}");

    let error = Gateway::bind(GatewayConfig {
        brokers: Vec::new(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..GatewayConfig::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(error, GatewayError::Broker(_)), "{error}");

    let error = Gateway::bind(GatewayConfig {
        cors: Some("bad\norigin".to_owned()),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..GatewayConfig::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(error, GatewayError::Config(_)), "{error}");
}
