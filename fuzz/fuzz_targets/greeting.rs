//! The staged greeting exchange fed arbitrary peer bytes: it must never panic, and
//! must reach the same verdict whether the bytes arrive at once or one by one.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use purezmq_zmtp::{Greeting, GreetingExchange, MechanismName};

fuzz_target!(|data: &[u8]| {
    let ours = Greeting::new(MechanismName::PLAIN, true);

    let mut whole = GreetingExchange::new(&ours);
    let at_once = whole.receive(data);
    black_box(whole.take_output());

    let mut split = GreetingExchange::new(&ours);
    let mut consumed = 0;
    let mut by_byte = Ok((0, None));
    for &b in data {
        match split.receive(&[b]) {
            Ok((n, greeting)) => {
                consumed += n;
                by_byte = Ok((consumed, greeting));
                if greeting.is_some() {
                    break;
                }
            }
            Err(e) => {
                by_byte = Err(e);
                break;
            }
        }
    }
    assert_eq!(
        at_once, by_byte,
        "verdict depends on how the greeting is split"
    );

    if let Some(bytes) = data.first_chunk::<64>() {
        black_box(Greeting::decode(bytes).ok());
    }
});
