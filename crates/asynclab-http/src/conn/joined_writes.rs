//! Pattern: **a small response in one `send`.** hyper hands a response over as
//! separate buffers (the head it wrote, then the body), and tokio writes several
//! buffers with `writev`, one with `send`. For a socket, `writev` first goes
//! through the kernel's generic file-write path and only then reaches the
//! socket; `send` goes to the socket directly. With many connections taking
//! turns, that detour shows in a profile of `/fast`, so buffers adding up to at
//! most [`JOIN_LIMIT`] bytes are copied into one thread-local buffer and sent
//! with one `send`. Large writes (file bodies) keep `writev`: no copy, and there
//! the detour is small next to the bytes moved. The measurement is in
//! `docs/performance.md`.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

/// Buffers adding up to at most this many bytes are joined: a response head
/// and a small body.
pub const JOIN_LIMIT: usize = 2048;

thread_local! {
    /// Where [`poll_write_joined`] joins small buffers: one per thread, reused.
    static JOINED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes `bufs` to `stream` and says how many bytes went, as `writev` does,
/// but buffers adding up to at most [`JOIN_LIMIT`] bytes are copied into one
/// and sent with one `send` (see the module doc for why). If the kernel takes
/// only part, the count says how far into the buffers it got, which is all
/// the caller needs to go on from there. Over TLS, the joined buffer becomes
/// one TLS record instead of two.
pub fn poll_write_joined<W: AsyncWrite + ?Sized>(
    stream: Pin<&mut W>,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    let total: usize = bufs.iter().map(|b| b.len()).sum();
    match bufs {
        [one] => stream.poll_write(cx, one),
        // The copy goes into the thread's own buffer (as in the echo server's
        // `scratch.rs`), used and released within this call.
        _ if total <= JOIN_LIMIT => JOINED.with_borrow_mut(|joined| {
            joined.clear();
            for buf in bufs {
                joined.extend_from_slice(buf);
            }
            stream.poll_write(cx, joined)
        }),
        _ => stream.poll_write_vectored(cx, bufs),
    }
}

#[cfg(test)]
mod tests {
    use std::io::IoSlice;

    use std::time::Duration;

    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpSocket};

    use super::*;

    /// The three parts of each message, like a response head and a body in two
    /// pieces: together just small enough to be joined, and large, so that a
    /// full socket often has room for only part of one.
    const PARTS: [&[u8]; 3] = [
        b"HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n",
        &[b'a'; 1000],
        &[b'b'; 1000],
    ];

    /// What is left of the parts after the first `skip` bytes.
    fn rest(mut skip: usize) -> Vec<IoSlice<'static>> {
        let mut slices = Vec::new();
        for part in PARTS {
            if skip >= part.len() {
                skip -= part.len();
            } else {
                slices.push(IoSlice::new(&part[skip..]));
                skip = 0;
            }
        }
        slices
    }

    #[tokio::test]
    async fn joined_writes_cut_short_by_a_full_socket_go_on_exactly_where_they_stopped() {
        const MESSAGES: usize = 5_000;
        let message = PARTS.concat();
        assert!(message.len() <= JOIN_LIMIT);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        // A small send buffer, and a reader that starts late: the socket fills
        // up, and the kernel takes only part of many writes.
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_send_buffer_size(4096).expect("SO_SNDBUF");
        let mut writer = socket
            .connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (mut reader, _) = listener.accept().await.expect("accept");
        let read = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut all = Vec::new();
            reader.read_to_end(&mut all).await.expect("read");
            all
        });

        let mut cut_short = 0;
        for _ in 0..MESSAGES {
            let mut sent = 0;
            while sent < message.len() {
                let slices = rest(sent);
                let n = std::future::poll_fn(|cx| {
                    poll_write_joined(Pin::new(&mut writer), cx, &slices)
                })
                .await
                .expect("write");
                assert!(n > 0, "a write that returns takes something");
                sent += n;
                if sent < message.len() {
                    cut_short += 1;
                }
            }
        }
        drop(writer);

        let all = read.await.expect("reader");
        assert_eq!(all.len(), MESSAGES * message.len());
        assert!(all.chunks(message.len()).all(|m| m == message.as_slice()));
        assert!(
            cut_short > 0,
            "the socket never filled: the test proved nothing"
        );
    }
}
