//! The connection reader on arbitrary bytes: frames, distribution headers,
//! the atom cache, fragments and control messages. Never a panic.
#![no_main]

use ember_dist::connection::{Limits, Reader};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_frame: 1 << 20, max_message: 1 << 20, ..Limits::default() };
    let mut reader = Reader::new(Cursor::new(data), limits);
    for _ in 0..64 {
        if reader.read().is_err() {
            break;
        }
    }
});
