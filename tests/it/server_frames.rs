//! Bad input at the protocol level, sent as raw frames: an unknown parameter type in Parse,
//! unknown message types, impossible lengths and garbage startups. Each gets an error or a
//! closed connection, and the server keeps serving everyone else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::server::Server;

fn message(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((payload.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(payload);
    m
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Startup as user abacus on database abacus, up to ReadyForQuery.
fn started(port: u16) -> TcpStream {
    let mut s = connect(port);
    let mut body = 196608i32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0abacus\0database\0abacus\0\0");
    let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    s.write_all(&m).unwrap();
    let kinds = read_until_ready(&mut s).expect("the server answers the startup");
    assert_eq!(kinds.last().map(|(k, _)| *k), Some(b'Z'), "{kinds:?}");
    s
}

/// Messages (type, payload) up to and including ReadyForQuery; None if the server closed.
fn read_until_ready(s: &mut TcpStream) -> Option<Vec<(u8, Vec<u8>)>> {
    let mut out = Vec::new();
    loop {
        let mut head = [0u8; 5];
        s.read_exact(&mut head).ok()?;
        let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut payload = vec![0u8; len - 4];
        s.read_exact(&mut payload).ok()?;
        out.push((head[0], payload));
        if head[0] == b'Z' {
            return Some(out);
        }
    }
}

/// Whether the server closed `s` (EOF or reset) without answering further.
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return true,
            // An ErrorResponse before closing is fine; keep reading to the close.
            Ok(_) => continue,
        }
    }
}

/// `SELECT 1` over `s` answers RowDescription, DataRow, CommandComplete, ReadyForQuery.
fn select_one(s: &mut TcpStream) {
    s.write_all(&message(b'Q', b"SELECT 1\0")).unwrap();
    let kinds: Vec<u8> = read_until_ready(s)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(kinds, b"TDCZ".to_vec());
}

#[test]
fn malformed_frames_and_unknown_types_end_in_errors_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    // Parse naming a parameter type that does not exist: 42704, and the connection goes on.
    let mut s = started(server.port);
    let mut parse = b"\0SELECT $1\0".to_vec();
    parse.extend_from_slice(&1i16.to_be_bytes());
    parse.extend_from_slice(&999_999i32.to_be_bytes());
    let mut bind = b"\0\0".to_vec();
    bind.extend_from_slice(&0i16.to_be_bytes());
    bind.extend_from_slice(&1i16.to_be_bytes());
    bind.extend_from_slice(&1i32.to_be_bytes());
    bind.push(b'x');
    bind.extend_from_slice(&0i16.to_be_bytes());
    let mut frames = message(b'P', &parse);
    frames.extend(message(b'B', &bind));
    frames.extend(message(b'E', b"\0\0\0\0\0"));
    frames.extend(message(b'S', b""));
    s.write_all(&frames).unwrap();
    let answer = read_until_ready(&mut s).unwrap();
    let error = answer
        .iter()
        .find(|(k, _)| *k == b'E')
        .map(|(_, p)| String::from_utf8_lossy(p).to_string())
        .unwrap_or_else(|| panic!("no ErrorResponse: {answer:?}"));
    assert!(
        error.contains("42704") && error.contains("type with OID 999999 does not exist"),
        "{error:?}"
    );
    // The connection is usable after the error.
    select_one(&mut s);

    // An unknown message type, then a negative length: the connection ends.
    s.write_all(&message(b'y', b"garbage")).unwrap();
    assert!(
        closed(&mut s),
        "an unknown message type ends the connection"
    );
    let mut s = started(server.port);
    let mut bad = vec![b'Q'];
    bad.extend_from_slice(&(-5i32).to_be_bytes());
    bad.extend_from_slice(b"xx");
    s.write_all(&bad).unwrap();
    assert!(closed(&mut s), "a negative length ends the connection");

    // Startup packets that are not PostgreSQL's: an unknown protocol, an absurd length.
    let mut s = connect(server.port);
    s.write_all(&[0, 0, 0, 8, 0x12, 0x34, 0x56, 0x78]).unwrap();
    assert!(closed(&mut s));
    let mut s = connect(server.port);
    let mut huge = 0x7fff_ffffi32.to_be_bytes().to_vec();
    huge.extend_from_slice(&[b'x'; 100]);
    s.write_all(&huge).unwrap();
    assert!(closed(&mut s));

    // Everyone else is still served.
    select_one(&mut started(server.port));
    server.stop();
}
