//! The term decoder on arbitrary bytes: never a panic, never an unbounded
//! allocation; whatever decodes encodes again and decodes to the same term.
#![no_main]

use ember_dist::etf::{self, DecodeLimits, Decoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // With the version byte (binary_to_term), compressed terms included.
    if let Ok(term) = etf::decode(data) {
        let bytes = etf::encode(&term).expect("a decoded term encodes");
        assert_eq!(etf::decode(&bytes).expect("and decodes again"), term);
    }
    // Bare, as after a distribution header.
    let limits = DecodeLimits::default();
    let mut d = Decoder::new(data, &limits);
    let _ = d.term();
});
