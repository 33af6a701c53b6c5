//! The serde mapping, one row of the table at a time, both ways.

use ember_dist::{from_term, to_term, Atom, Map, Pid, Term};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Point {
    x: i32,
    y: f64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Wrapper(u64);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Pair(i8, String);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Ping;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Call {
    Increment,
    GetState,
    Add(i64),
    Put(String, Option<u8>),
    Move {
        dx: i32,
        dy: i32,
    },
    #[serde(rename = "$gen_cast")]
    Cast(Box<Term>),
}

/// A request as Erlang sends it: `{From, Term}`, with a pid and any term.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Request(Pid, Term);

fn both<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(value: T, erlang: &str) {
    let t = to_term(&value).unwrap();
    assert_eq!(t.to_string(), erlang);
    assert_eq!(from_term::<T>(t).unwrap(), value);
}

#[test]
fn scalars() {
    both(true, "true");
    both(false, "false");
    both(-7i8, "-7");
    both(u64::MAX, "18446744073709551615");
    both(i128::MIN, "-170141183460469231731687303715884105728");
    both(u128::MAX, "340282366920938463463374607431768211455");
    both(2.5f64, "2.5");
    both('λ', "955");
    both(String::from("héllo"), "<<104,195,169,108,108,111>>");
    both(String::from("plain"), "<<\"plain\">>");
    both((), "{}");
    both(None::<u8>, "undefined");
    both(Some(3u8), "3");
}

#[test]
fn compounds() {
    both(vec![1u8, 2], "[1,2]");
    both((1u8, true, "a".to_string()), "{1,true,<<\"a\">>}");
    both(Point { x: 1, y: 2.0 }, "#{x => 1,y => 2.0}");
    both(Wrapper(9), "9");
    both(Pair(-1, "s".into()), "{-1,<<\"s\">>}");
    both(Ping, "ping");
    let mut m = BTreeMap::new();
    m.insert("k".to_string(), vec![Some(1u8), None]);
    both(m, "#{<<\"k\">> => [1,undefined]}");
    both(Ok::<u8, String>(1), "{ok,1}");
    both(Err::<u8, String>("no".into()), "{error,<<\"no\">>}");
}

#[test]
fn enums_are_atoms_and_tagged_tuples() {
    both(Call::Increment, "increment");
    both(Call::GetState, "get_state");
    both(Call::Add(5), "{add,5}");
    both(Call::Put("k".into(), None), "{put,<<\"k\">>,undefined}");
    both(Call::Move { dx: 1, dy: -1 }, "{move,#{dx => 1,dy => -1}}");
    both(Call::Cast(Box::new(Term::atom("x"))), "{'$gen_cast',x}");
    assert!(from_term::<Call>(Term::atom("Increment")).is_err(), "atoms are snake_case");
    assert!(from_term::<Call>(Term::tuple(vec![Term::atom("add")])).is_err());
}

#[test]
fn terms_pids_and_atoms_pass_through_whole() {
    let pid = Pid { node: Atom::new("erl@localhost"), id: 90, serial: 1, creation: 77 };
    let mut m = Map::new();
    m.insert(Term::atom("k"), Term::improper_list(vec![Term::Int(1)], Term::atom("t")));
    let req = Request(pid.clone(), Term::Map(m));
    let t = to_term(&req).unwrap();
    assert_eq!(t.as_tuple().unwrap()[0], Term::Pid(pid));
    assert_eq!(from_term::<Request>(t).unwrap(), req);
    both(Atom::new("an_atom"), "an_atom");
    assert!(from_term::<Pid>(Term::atom("not_a_pid")).is_err());
}

#[test]
fn lenient_inputs() {
    // Erlang strings and atoms decode as String; tuples as Vec; ints as f64.
    assert_eq!(from_term::<String>(Term::charlist("abc")).unwrap(), "abc");
    assert_eq!(from_term::<String>(Term::atom("abc")).unwrap(), "abc");
    assert_eq!(from_term::<Vec<u8>>(Term::tuple(vec![Term::Int(1)])).unwrap(), vec![1]);
    assert_eq!(from_term::<f64>(Term::Int(2)).unwrap(), 2.0);
    assert_eq!(from_term::<Option<u8>>(Term::atom("nil")).unwrap(), None);
}

#[test]
fn mismatches_are_errors() {
    assert!(from_term::<u8>(Term::Int(256)).is_err());
    assert!(from_term::<u64>(Term::Int(-1)).is_err());
    assert!(from_term::<bool>(Term::atom("yes")).is_err());
    assert!(from_term::<String>(Term::Binary(vec![0xff])).is_err());
    assert!(from_term::<Point>(Term::tuple(vec![])).is_err());
    assert!(from_term::<(u8, u8)>(Term::tuple(vec![Term::Int(1)])).is_err());
    let err = from_term::<Point>(Term::Map(Map::new())).unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}
