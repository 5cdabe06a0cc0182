//! Graceful shutdown under steady load: workers keep requests going on keep-alive connections
//! while the gateway is told to stop. It stops accepting, lets every request it took finish, and
//! then returns. A request counts as in flight once the gateway read it; the upstream records
//! every request id it receives, so a transport error on a request the upstream saw is a lost
//! in-flight request. Errors on requests nobody received are the client racing the close of an
//! idle keep-alive connection (HTTP/1.1 has no way to avoid it; clients retry those).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use crate::support::{Behaviour, RunningGateway, TestUpstream, single_route};

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    bad_status: AtomicU64,
    errored: std::sync::Mutex<Vec<String>>,
}

async fn worker(addr: SocketAddr, n: usize, tally: Arc<Tally>, stopping: Arc<AtomicBool>) {
    let mut seq = 0u64;
    'connections: loop {
        let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else {
            // Refused: the listener is closed. Before the shutdown that would be a failure.
            assert!(
                stopping.load(Ordering::SeqCst),
                "connection refused before the shutdown"
            );
            return;
        };
        let Ok((mut sender, conn)) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await else {
            continue;
        };
        tokio::spawn(conn);
        loop {
            if sender.ready().await.is_err() {
                // The gateway closed this idle connection; any request is still to be sent.
                continue 'connections;
            }
            seq += 1;
            let id = format!("w{n}-{seq}");
            let request = http::Request::get(format!("http://{addr}/t/load"))
                .header("x-request-id", &id)
                .body(Empty::<Bytes>::new())
                .unwrap();
            match sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status();
                    let body = response.into_body().collect().await;
                    if status == 200 && body.is_ok() {
                        tally.ok.fetch_add(1, Ordering::SeqCst);
                    } else {
                        tally.bad_status.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Err(_) => {
                    tally.errored.lock().unwrap().push(id);
                    continue 'connections;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_under_steady_load_loses_no_in_flight_request() {
    let up = TestUpstream::start("up", Behaviour::Sleep(Duration::from_millis(40))).await;
    let gw = RunningGateway::start(single_route(&[up.addr], |_, _| {})).await;
    let addr = gw.addr;
    let tally = Arc::new(Tally::default());
    let stopping = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|n| tokio::spawn(worker(addr, n, Arc::clone(&tally), Arc::clone(&stopping))))
        .collect();

    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = tally.ok.load(Ordering::SeqCst);
    assert!(before > 20, "steady load before the shutdown: {before} requests");
    // Signal while several requests are inside the upstream (the workers run in near lockstep,
    // so a moment picked blindly can fall between two rounds).
    let mut in_flight_at_signal = 0;
    for _ in 0..2000 {
        in_flight_at_signal = up.active.load(Ordering::SeqCst);
        if in_flight_at_signal >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stopping.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(15), gw.stop())
        .await
        .expect("the gateway drains within 15 s");
    for w in workers {
        tokio::time::timeout(Duration::from_secs(15), w)
            .await
            .expect("workers stop once connections are refused")
            .expect("worker did not panic");
    }

    let received: std::collections::HashSet<String> = up.ids.lock().unwrap().iter().cloned().collect();
    let errored = tally.errored.lock().unwrap().clone();
    let lost: Vec<&String> = errored.iter().filter(|id| received.contains(*id)).collect();
    let ok = tally.ok.load(Ordering::SeqCst);
    eprintln!(
        "before {before}, in flight at the signal {in_flight_at_signal}, answered {ok}, transport errors {}, lost {}",
        errored.len(),
        lost.len()
    );
    assert!(
        in_flight_at_signal >= 4,
        "the shutdown came while requests were in flight"
    );
    assert_eq!(
        tally.bad_status.load(Ordering::SeqCst),
        0,
        "no request failed with an error status"
    );
    assert!(lost.is_empty(), "in-flight requests lost: {lost:?}");
    assert_eq!(
        ok as usize,
        received.len(),
        "every request the upstream received was answered"
    );
    assert!(
        errored.len() <= 8,
        "at most one idle-connection race per worker: {errored:?}"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after the shutdown"
    );
    up.stop().await;
}
