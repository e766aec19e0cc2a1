//! Binding a listening socket with a backlog of our choosing.
//!
//! `TcpListener::bind` asks the kernel for a queue of 128 not-yet-accepted
//! connections (the value std uses, which tokio's mio copies). A burst larger
//! than that, such as 10,000 clients connecting at once, overflows it: the
//! kernel drops the SYNs, and those clients retry only a second later. The
//! servers listen with `http.backlog` / `echo.backlog` (Linux caps it at
//! `net.core.somaxconn`), and the tests bind the same way.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Binds `addr` like `TcpListener::bind`, with `backlog` for the accept queue.
pub fn listen(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }?;
    // As std and tokio do on Unix: a restarted server gets its port back at once,
    // while a port another process listens on is still refused.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}
