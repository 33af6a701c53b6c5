//! `Cookie::from_home` reads `$HOME/.erlang.cookie` as `erl` does. Its own
//! test binary: it points `HOME` at a scratch directory, which must not leak
//! into tests that start BEAM nodes.

use ember_dist::Cookie;

#[test]
fn the_cookie_file_is_read_like_erl_reads_it() {
    let dir = std::env::temp_dir().join(format!("ember-dist-cookie-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The only test of this binary that touches the environment.
    std::env::set_var("HOME", &dir);
    let err = Cookie::from_home().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "no file yet: {err}");
    std::fs::write(dir.join(".erlang.cookie"), "  \n").unwrap();
    assert_eq!(Cookie::from_home().unwrap_err().kind(), std::io::ErrorKind::InvalidData, "empty");
    std::fs::write(dir.join(".erlang.cookie"), "SECRETCOOKIE\n").unwrap();
    let cookie = Cookie::from_home().unwrap();
    assert_eq!(cookie, Cookie::new("SECRETCOOKIE"));
    assert_eq!(cookie.digest(42), Cookie::new("SECRETCOOKIE").digest(42));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The digest is MD5 of the cookie followed by the challenge in decimal:
/// MD5("abc123") is e99a18c428cb38d5f260853678922e03.
#[test]
fn the_digest_is_md5_of_cookie_and_decimal_challenge() {
    let want = [0xe9, 0x9a, 0x18, 0xc4, 0x28, 0xcb, 0x38, 0xd5, 0xf2, 0x60, 0x85, 0x36, 0x78, 0x92, 0x2e, 0x03];
    assert_eq!(Cookie::new("abc").digest(123), want);
}
