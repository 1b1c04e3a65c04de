//! A loopback port that refuses every connection for as long as its holder lives: bound but
//! never listening, so no other process (another test's agent picking a free port) can take it.

/// The reserved port; dropping it frees the port.
pub struct DeadPort {
    pub port: u16,
    _socket: tokio::net::TcpSocket,
}

/// Reserves a port on 127.0.0.1 that refuses connections.
pub fn dead_port() -> DeadPort {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    DeadPort {
        port,
        _socket: socket,
    }
}
