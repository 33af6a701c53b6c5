//! The handshake on arbitrary bytes: the message parser from either side, and
//! the acceptor reading a whole hostile stream. Never a panic; nothing is
//! accepted without the cookie.
#![no_main]

use ember_dist::handshake::{self, Config, Message, MessageFrom, Status};
use ember_dist::Cookie;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    for from in [MessageFrom::Initiator, MessageFrom::Acceptor] {
        if let Ok(m) = Message::parse(data, from) {
            let _ = m.encode();
        }
    }
    let config = Config::new("fuzz@localhost", Cookie::new("cookie"), 1).unwrap();
    let mut stream = Cursor::new(data.to_vec());
    if let Ok(pending) = handshake::accept(&mut stream, &config) {
        // The challenge is random, so random bytes cannot answer it.
        assert!(pending.respond(Status::Ok).is_err());
    }
});
