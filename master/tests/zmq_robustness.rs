//! Why Brine uses libzmq (the `zmq` crate) for Salt's transport: a ROUTER
//! configured as the master's request server survives a peer that sends a
//! frame header announcing an absurd length (2^62 bytes) and keeps serving
//! a well-behaved REQ client, and a REQ client reconnects to a ROUTER that
//! was closed and bound again. (The pure-Rust `zeromq` crate aborts the
//! whole process on the first and never reconnects on the second; see
//! docs/dependencies.md.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Maximum message size the request server accepts (Salt's default
/// `max_message_size` is 100 MiB... the socket limit here is a test value).
const MAX_MSG: i64 = 1 << 20;

fn router(ctx: &zmq::Context, endpoint: &str) -> zmq::Socket {
    let s = ctx.socket(zmq::ROUTER).unwrap();
    s.set_maxmsgsize(MAX_MSG).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(5000).unwrap();
    s.bind(endpoint).unwrap();
    s
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A ZMTP 3.0 greeting (NULL mechanism, client) and a READY command for a
/// REQ socket.
fn zmtp_hello() -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend_from_slice(&mech);
    g.push(0); // as-server
    g.extend_from_slice(&[0u8; 31]);
    // READY command with Socket-Type=REQ.
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&3u32.to_be_bytes());
    body.extend_from_slice(b"REQ");
    g.push(0x04);
    g.push(body.len() as u8);
    g.extend_from_slice(&body);
    g
}

fn echo_once(server: &zmq::Socket) {
    let parts = server
        .recv_multipart(0)
        .expect("request reaches the router");
    server.send_multipart(&parts, 0).unwrap();
}

#[test]
fn router_survives_a_hostile_frame_length() {
    let ctx = zmq::Context::new();
    let port = free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let server = router(&ctx, &ep);

    // The attacker: greeting, READY, then a "long" frame of 2^62 bytes.
    let mut evil = TcpStream::connect(("127.0.0.1", port)).unwrap();
    evil.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    evil.write_all(&zmtp_hello()).unwrap();
    let mut frame = vec![0x02];
    frame.extend_from_slice(&(1u64 << 62).to_be_bytes());
    frame.extend_from_slice(b"xxxx");
    evil.write_all(&frame).unwrap();
    // The server drops that connection (read returns EOF or an error).
    let mut buf = [0u8; 256];
    let mut closed = false;
    for _ in 0..20 {
        match evil.read(&mut buf) {
            Ok(0) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => continue,
        }
    }
    assert!(
        closed,
        "the router kept a connection that announced a 2^62-byte frame"
    );

    // Everyone else is still served.
    let client = ctx.socket(zmq::REQ).unwrap();
    client.set_linger(0).unwrap();
    client.set_rcvtimeo(5000).unwrap();
    client.connect(&ep).unwrap();
    client.send("ping", 0).unwrap();
    echo_once(&server);
    assert_eq!(client.recv_string(0).unwrap().unwrap(), "ping");
}

#[test]
fn req_reconnects_after_the_router_restarts() {
    let ctx = zmq::Context::new();
    let port = free_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let client = ctx.socket(zmq::REQ).unwrap();
    client.set_linger(0).unwrap();
    client.set_rcvtimeo(5000).unwrap();
    client.set_reconnect_ivl(50).unwrap();
    client.set_reconnect_ivl_max(500).unwrap();
    client.connect(&ep).unwrap();
    {
        let server = router(&ctx, &ep);
        client.send("one", 0).unwrap();
        echo_once(&server);
        assert_eq!(client.recv_string(0).unwrap().unwrap(), "one");
    } // the router is closed here
    std::thread::sleep(Duration::from_millis(200));
    let server = router(&ctx, &ep);
    client.send("two", 0).unwrap();
    echo_once(&server);
    assert_eq!(client.recv_string(0).unwrap().unwrap(), "two");
}
