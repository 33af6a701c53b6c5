//! The external term format: bytes a real OTP 25 node wrote, round trips,
//! hostile input, and property tests (bounded: a fixed number of cases).

use ember_dist::etf::{self, DecodeError, DecodeLimits, EncodeError};
use ember_dist::{Atom, BitString, Map, Pid, Term};
use num_bigint::BigInt;
use proptest::prelude::*;

/// `term_to_binary(T)` on OTP 25, for the `T` in each comment.
#[test]
fn decodes_what_a_beam_wrote() {
    // #{a => 1, <<"b">> => [1.5, "xy"]}
    let map = [
        131, 116, 0, 0, 0, 2, 100, 0, 1, 97, 97, 1, 109, 0, 0, 0, 1, 98, 108, 0, 0, 0, 2, 70, 63, 248, 0, 0, 0, 0, 0,
        0, 107, 0, 2, 120, 121, 106,
    ];
    let mut want = Map::new();
    want.insert(Term::atom("a"), Term::Int(1));
    want.insert(Term::binary(b"b"), Term::list(vec![Term::Float(1.5), Term::charlist("xy")]));
    assert_eq!(etf::decode(&map).unwrap(), Term::Map(want));

    // {1 bsl 70, -(1 bsl 70), 4294967296, -2147483649}
    let big = [
        131, 104, 4, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 64, 110, 5, 0, 0, 0, 0,
        0, 1, 110, 4, 1, 1, 0, 0, 128,
    ];
    let b70 = BigInt::from(1u8) << 70u32;
    assert_eq!(
        etf::decode(&big).unwrap(),
        Term::tuple(vec![Term::integer(b70.clone()), Term::integer(-b70), Term::Int(1 << 32), Term::Int(-2147483649)])
    );

    // <<1, 2:3>>
    let bits = [131, 77, 0, 0, 0, 2, 3, 1, 64];
    assert_eq!(etf::decode(&bits).unwrap(), Term::BitString(BitString::new(vec![1, 0b010_00000], 3).unwrap()));

    // [a | b]
    let improper = [131, 108, 0, 0, 0, 1, 100, 0, 1, 97, 100, 0, 1, 98];
    assert_eq!(etf::decode(&improper).unwrap(), Term::improper_list(vec![Term::atom("a")], Term::atom("b")));

    // term_to_binary(lists:duplicate(100, hello), [compressed])
    let compressed = [
        131, 80, 0, 0, 3, 38, 120, 156, 203, 97, 96, 96, 72, 73, 97, 96, 205, 72, 205, 201, 201, 31, 165, 71, 233, 81,
        26, 147, 206, 2, 0, 52, 16, 250, 15,
    ];
    assert_eq!(etf::decode(&compressed).unwrap(), Term::List(vec![Term::atom("hello"); 100]));

    // {self(), make_ref()} on a non-distributed node: NEW_PID_EXT, NEWER_REFERENCE_EXT.
    let ids = [
        131, 104, 2, 88, 100, 0, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115, 116, 0, 0, 0, 9, 0, 0,
        0, 0, 0, 0, 0, 0, 90, 0, 3, 100, 0, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115, 116, 0, 0,
        0, 0, 0, 3, 98, 17, 38, 96, 0, 2, 102, 33, 58, 181,
    ];
    let t = etf::decode(&ids).unwrap();
    let t = t.as_tuple().unwrap();
    assert_eq!(t[0], Term::Pid(Pid { node: Atom::new("nonode@nohost"), id: 9, serial: 0, creation: 0 }));
    assert!(matches!(&t[1], Term::Ref(r) if r.id.len() == 3 && r.node.as_str() == "nonode@nohost"));
    // And they encode back to what a BEAM would read as equal (UTF-8 atoms
    // instead of Latin-1 is the only difference).
    assert_eq!(etf::decode(&etf::encode(&Term::Tuple(t.to_vec())).unwrap()).unwrap(), Term::Tuple(t.to_vec()));
}

#[test]
fn integers_take_the_smallest_form() {
    let enc = |i: i64| etf::encode(&Term::Int(i)).unwrap();
    assert_eq!(enc(255), [131, 97, 255]);
    assert_eq!(enc(256), [131, 98, 0, 0, 1, 0]);
    assert_eq!(enc(-1), [131, 98, 255, 255, 255, 255]);
    assert_eq!(enc(1 << 40), [131, 110, 6, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(enc(i64::MIN), [131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128]);
    // A BigInt that fits is encoded like the Int it equals.
    assert_eq!(etf::encode(&Term::BigInt(5.into())).unwrap(), enc(5));
}

#[test]
fn encode_refuses_what_the_format_cannot_carry() {
    assert_eq!(etf::encode(&Term::Float(f64::INFINITY)), Err(EncodeError::NonFiniteFloat));
    assert_eq!(etf::encode(&Term::atom(&"a".repeat(256))), Err(EncodeError::AtomTooLong(256)));
    assert!(etf::encode(&Term::atom(&"é".repeat(255))).is_ok(), "255 characters, 510 bytes");
    let mut deep = Term::nil();
    for _ in 0..=etf::MAX_ENCODE_DEPTH {
        deep = Term::tuple(vec![deep]);
    }
    assert_eq!(etf::encode(&deep), Err(EncodeError::TooDeep));
    let mut out = vec![9];
    assert!(etf::encode_bare_into(&Term::list(vec![Term::Int(1), Term::Float(f64::NAN)]), &mut out).is_err());
    assert_eq!(out, [9], "nothing is left behind on error");
}

#[test]
fn truncated_input_is_an_error_at_every_length() {
    let t = Term::tuple(vec![
        Term::atom("ok"),
        Term::binary(b"payload"),
        Term::list(vec![Term::Int(1000), Term::Float(2.5)]),
        Term::integer(BigInt::from(u64::MAX) * 3),
    ]);
    let bytes = etf::encode(&t).unwrap();
    for n in 0..bytes.len() {
        assert!(etf::decode(&bytes[..n]).is_err(), "a prefix of {n} bytes decoded");
    }
    assert_eq!(etf::decode(&bytes).unwrap(), t);
    let mut longer = bytes.clone();
    longer.push(106);
    assert!(matches!(etf::decode(&longer), Err(DecodeError::TrailingBytes { .. })));
}

#[test]
fn lengths_beyond_the_input_allocate_nothing() {
    // Each claims about 4 G elements or bytes; the input has none.
    for bytes in [
        &[131, 108, 255, 255, 255, 255, 106][..],     // LIST_EXT
        &[131, 105, 255, 255, 255, 255][..],          // LARGE_TUPLE_EXT
        &[131, 116, 255, 255, 255, 255][..],          // MAP_EXT
        &[131, 109, 255, 255, 255, 255][..],          // BINARY_EXT
        &[131, 77, 255, 255, 255, 255, 3][..],        // BIT_BINARY_EXT
        &[131, 107, 255, 255][..],                    // STRING_EXT
        &[131, 111, 255, 255, 255, 255, 0][..],       // LARGE_BIG_EXT
        &[131, 118, 255, 255][..],                    // ATOM_UTF8_EXT
        &[131, 80, 255, 255, 255, 255, 120, 156][..], // COMPRESSED
    ] {
        assert!(etf::decode(bytes).is_err(), "{bytes:?}");
    }
}

#[test]
fn nesting_is_bounded_by_the_limit_not_the_stack() {
    // A million nested one-tuples: 2 bytes each.
    let mut bytes = vec![131];
    for _ in 0..1_000_000 {
        bytes.extend([104, 1]);
    }
    bytes.push(106);
    assert_eq!(etf::decode(&bytes), Err(DecodeError::TooDeep { limit: 128 }));
    // The default bound decodes. It recurses: in a release build a term at
    // the bound takes up to ~128 KiB of stack (measured), several times that
    // unoptimised, so the test gives its thread room for both.
    let mut ok = vec![131];
    for _ in 0..128 {
        ok.extend([104, 1]);
    }
    ok.push(106);
    let decoded = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || etf::decode(&ok).map(|t| etf::encode(&t).is_ok()))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(decoded, Ok(true));
}

#[test]
fn counts_and_sizes_have_bounds() {
    let limits = DecodeLimits { max_terms: 10, max_atoms: 3, max_bignum_bytes: 8, ..Default::default() };
    let list = etf::encode(&Term::List(vec![Term::Int(1); 11])).unwrap();
    assert!(matches!(etf::decode_with(&list, &limits), Err(DecodeError::TooLarge { .. })));
    let atoms = etf::encode(&Term::List(vec![Term::atom("a"); 4])).unwrap();
    assert!(matches!(etf::decode_with(&atoms, &limits), Err(DecodeError::TooLarge { what: "atoms in one term", .. })));
    let big = etf::encode(&Term::integer(BigInt::from(1u8) << 100u32)).unwrap();
    assert!(matches!(etf::decode_with(&big, &limits), Err(DecodeError::TooLarge { what: "bignum bytes", .. })));
    // A zlib bomb: 1 MiB of zeros announced as such, over a 64 KiB limit.
    let zeros = etf::encode(&Term::Binary(vec![0; 1 << 20])).unwrap();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &zeros[1..]).unwrap();
    let mut bomb = vec![131, 80];
    bomb.extend(((zeros.len() - 1) as u32).to_be_bytes());
    bomb.extend(z.finish().unwrap());
    let small = DecodeLimits { max_uncompressed: 64 << 10, ..Default::default() };
    assert!(matches!(etf::decode_with(&bomb, &small), Err(DecodeError::TooLarge { what: "uncompressed term", .. })));
    assert_eq!(etf::decode(&bomb).unwrap(), Term::Binary(vec![0; 1 << 20]));
    // A size that lies about the inflated data.
    let mut liar = bomb.clone();
    liar[2..6].copy_from_slice(&100u32.to_be_bytes());
    assert!(etf::decode(&liar).is_err());
}

#[test]
fn rule_breaking_terms_are_errors() {
    let cases: &[(&[u8], &str)] = &[
        (&[131, 116, 0, 0, 0, 2, 97, 1, 106, 97, 1, 106], "duplicate map key"),
        (&[131, 70, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0], "infinite float"),
        (&[131, 77, 0, 0, 0, 1, 9, 0], "9 bits in the last byte"),
        (&[131, 77, 0, 0, 0, 0, 3], "partial bits of no byte"),
        (&[131, 119, 1, 0xff], "atom that is not UTF-8"),
        (&[131, 82, 0], "atom cache ref without a header"),
        (&[131, 121, 0], "LOCAL_EXT"),
        (&[131, 117, 0], "the old FUN_EXT"),
        (&[131, 68, 0], "a distribution header inside a term"),
        (&[131, 90, 0, 6, 119, 1, b'a', 0, 0, 0, 1], "reference of 6 words"),
        (&[131, 110, 1, 2, 1], "bignum sign 2"),
        (&[130, 106], "version byte"),
        (&[131, 112, 0, 0, 0, 3, 0, 0, 0], "fun of a bad size"),
    ];
    for (bytes, what) in cases {
        assert!(etf::decode(bytes).is_err(), "{what} decoded");
    }
    // 256 characters is one too many, even in Latin-1.
    let mut long = vec![131, 100, 1, 0];
    long.extend([b'a'; 256]);
    assert!(etf::decode(&long).is_err());
}

#[test]
fn term_order_is_erlangs() {
    let ordered = [
        Term::Int(-5),
        Term::Float(-4.5),
        Term::Int(1),
        Term::Float(1.0),
        Term::Float(1.5),
        Term::integer(BigInt::from(1u8) << 80u32),
        Term::atom("a"),
        Term::atom("b"),
        Term::Ref(ember_dist::Reference { node: Atom::new("n@h"), creation: 1, id: vec![1] }),
        Term::Fun(ember_dist::Fun::Export { module: Atom::new("m"), function: Atom::new("f"), arity: 0 }),
        Term::Port(ember_dist::Port { node: Atom::new("n@h"), id: 1, creation: 1 }),
        Term::Pid(Pid { node: Atom::new("n@h"), id: 1, serial: 0, creation: 1 }),
        Term::tuple(vec![Term::Int(9)]),
        Term::tuple(vec![Term::Int(1), Term::Int(1)]),
        Term::Map(Map::new()),
        Term::nil(),
        Term::improper_list(vec![Term::Int(1)], Term::Int(2)),
        Term::list(vec![Term::Int(1)]),
        Term::list(vec![Term::Int(1), Term::Int(2)]),
        Term::BitString(BitString::new(vec![0x80], 1).unwrap()),
        Term::binary(&[0x80]),
        Term::binary(&[0x80, 0]),
    ];
    for w in ordered.windows(2) {
        assert!(w[0] < w[1], "{} < {}", w[0], w[1]);
    }
    assert_eq!(Term::Int(7), Term::BigInt(7.into()));
    assert_ne!(Term::Int(1), Term::Float(1.0));
}

fn leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        any::<i64>().prop_map(Term::Int),
        any::<i128>().prop_map(|i| Term::integer(i.into())),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Term::Float),
        "[a-z_@é]{0,12}".prop_map(|s| Term::atom(&s)),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Term::Binary),
        (proptest::collection::vec(any::<u8>(), 1..8), 1u8..8)
            .prop_map(|(b, n)| Term::BitString(BitString::new(b, n).unwrap())),
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(id, serial, creation)| Term::Pid(Pid {
            node: Atom::new("n@h"),
            id,
            serial,
            creation
        })),
        (proptest::collection::vec(any::<u32>(), 1..=5), any::<u32>())
            .prop_map(|(id, creation)| Term::Ref(ember_dist::Reference { node: Atom::new("r@h"), creation, id })),
        (any::<u64>(), any::<u32>()).prop_map(|(id, creation)| Term::Port(ember_dist::Port {
            node: Atom::new("p@h"),
            id,
            creation
        })),
        Just(Term::nil()),
    ]
}

fn term() -> impl Strategy<Value = Term> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Term::List),
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Term::Tuple),
            (proptest::collection::vec(inner.clone(), 1..4), inner.clone())
                .prop_map(|(h, t)| Term::improper_list(h, t)),
            proptest::collection::vec((inner.clone(), inner), 0..6).prop_map(|kv| Term::Map(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_term_round_trips(t in term()) {
        let bytes = etf::encode(&t).unwrap();
        prop_assert_eq!(etf::decode(&bytes).unwrap(), t);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut with_version = vec![131];
        with_version.extend(&bytes);
        let _ = etf::decode(&with_version);
        let limits = DecodeLimits::default();
        let mut d = etf::Decoder::new(&bytes, &limits);
        let _ = d.term();
    }

    #[test]
    fn mutated_encodings_never_panic(t in term(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = etf::encode(&t).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(decoded) = etf::decode(&bytes) {
            // Whatever decodes must encode again.
            prop_assert!(etf::encode(&decoded).is_ok());
        }
    }
}

/// The committed fuzz corpus runs in the normal suite too: the term seeds
/// were written by a BEAM (`term_to_binary`) and must decode; the others
/// must not panic.
#[test]
fn fuzz_corpus_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.join("term_decoder")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let term = etf::decode(&bytes).unwrap();
        assert_eq!(etf::decode(&etf::encode(&term).unwrap()).unwrap(), term);
        seen += 1;
    }
    for target in ["handshake_parser", "frame_reader"] {
        for entry in std::fs::read_dir(dir.join(target)).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let _ = ember_dist::handshake::Message::parse(&bytes, ember_dist::handshake::MessageFrom::Initiator);
            let mut r = ember_dist::connection::Reader::new(&bytes[..], ember_dist::connection::Limits::default());
            while r.read().is_ok() {}
            seen += 1;
        }
    }
    assert!(seen >= 10, "the corpus is there");
}
