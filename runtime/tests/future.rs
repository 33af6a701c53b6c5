//! `future::block_on` (feature `tokio`): a process parks on a future driven
//! by the shared tokio runtime. Run with
//! `cargo test -p ember-runtime --features tokio --test future`.
#![cfg(feature = "tokio")]

mod common;

use common::BOUND;
use ember_runtime::future::block_on;
use ember_runtime::net::TcpListener;
use ember_runtime::{receive_timeout, self_pid, send, spawn, spawn_monitor, Builder, Reason};
use std::io::{Read, Write};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn a_real_tokio_tcp_future_talks_to_an_ember_server() {
    let rt = Builder::default().schedulers(2).build().unwrap();
    rt.block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            buf.reverse();
            s.write_all(&buf).unwrap();
        });
        let reply = block_on(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            stream.read_exact(&mut buf).await.unwrap();
            buf
        });
        assert_eq!(&reply, b"olleh");
    })
    .unwrap();
}

#[test]
fn the_worker_runs_other_processes_while_a_future_waits() {
    // One scheduler: if block_on blocked the worker, the other process
    // could not run until the sleep was over.
    let rt = Builder::default().schedulers(1).build().unwrap();
    rt.block_on(|| {
        let me = self_pid();
        spawn(move || {
            let got = block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                send(me, listener.local_addr().unwrap());
                // Waits in tokio's reactor until the other process connects.
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 2];
                s.read_exact(&mut buf).await.unwrap();
                buf
            });
            send(me, got);
        });
        let addr: std::net::SocketAddr = receive_timeout(BOUND).expect("the future started");
        // We run while the future waits (same single worker).
        let mut client = ember_runtime::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"ok").unwrap();
        assert_eq!(receive_timeout::<[u8; 2]>(BOUND), Some(*b"ok"));
    })
    .unwrap();
}

#[test]
fn a_process_waiting_on_a_future_is_killable() {
    let rt = Builder::default().schedulers(2).build().unwrap();
    rt.block_on(|| {
        let me = self_pid();
        let (pid, m) = spawn_monitor(move || {
            struct Dropped(ember_runtime::Pid);
            impl Drop for Dropped {
                fn drop(&mut self) {
                    send(self.0, "future dropped");
                }
            }
            let guard = Dropped(me);
            block_on(async move {
                let _guard = guard;
                send(me, "waiting");
                std::future::pending::<()>().await
            });
        });
        assert_eq!(receive_timeout::<&str>(BOUND), Some("waiting"));
        pid.exit(Reason::Kill);
        assert_eq!(receive_timeout::<&str>(BOUND), Some("future dropped"));
        let down: ember_runtime::Down = receive_timeout(BOUND).unwrap();
        assert_eq!((down.monitor, down.reason), (m, Reason::Killed));
    })
    .unwrap();
}

#[test]
fn outside_a_process_block_on_blocks_the_thread() {
    let v = block_on(async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        5
    });
    assert_eq!(v, 5);
}
