//! Nagle's algorithm off on the Lambda runtime's own connections to the Runtime API.
//!
//! A streamed response is POSTed to the Runtime API in many small writes (the prelude, then each
//! burst of ChatKit events). `lambda_runtime` connects with a hyper connector it builds itself and
//! leaves Nagle's algorithm on, so every write after the first waits for the Runtime API to ACK
//! the one before, and a delayed ACK holds it ~40 ms (measured under a fake Runtime API in
//! `bench/lambda`: 46.7 ms a streamed turn against 3.45 ms buffered). `lambda_runtime` 1.5 takes no
//! connector from outside, so the chat function sets `TCP_NODELAY` on those sockets itself, found by
//! their peer address among the process's file descriptors, before each streamed response.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{BorrowedFd, RawFd};

/// The Runtime API's socket address, from `AWS_LAMBDA_RUNTIME_API` (`host:port`, as Lambda sets
/// it). `None` when it is unset or does not resolve.
pub fn runtime_api_address() -> Option<SocketAddr> {
    resolve(&std::env::var("AWS_LAMBDA_RUNTIME_API").ok()?)
}

fn resolve(api: &str) -> Option<SocketAddr> {
    api.to_socket_addrs().ok()?.next()
}

/// Sets `TCP_NODELAY` on every socket of this process connected to `peer` that does not have it
/// yet, and says how many it changed.
pub fn set_nodelay_towards(peer: SocketAddr) -> io::Result<usize> {
    let mut changed = 0;
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Ok(entry) = entry else { continue };
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<RawFd>().ok())
        else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path()).is_ok_and(|target| {
            target
                .as_os_str()
                .as_encoded_bytes()
                .starts_with(b"socket:")
        });
        if !is_socket {
            continue;
        }
        // SAFETY: the descriptor was open when listed and is only borrowed for the calls below.
        // Should another thread close it meanwhile and the number be reused, the calls act on that
        // descriptor instead: at worst `TCP_NODELAY` on another socket to the Runtime API (the peer
        // is checked first), or an error from a descriptor that is not a socket, skipped.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        let towards_peer = socket
            .peer_addr()
            .ok()
            .and_then(|addr| addr.as_socket())
            .is_some_and(|addr| addr == peer);
        if towards_peer && !socket.tcp_nodelay()? {
            socket.set_tcp_nodelay(true)?;
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::*;

    #[test]
    fn only_the_sockets_towards_the_peer_get_nodelay() {
        let api = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let to_api = [
            TcpStream::connect(api.local_addr().unwrap()).unwrap(),
            TcpStream::connect(api.local_addr().unwrap()).unwrap(),
        ];
        let to_other = TcpStream::connect(other.local_addr().unwrap()).unwrap();
        for stream in to_api.iter().chain([&to_other]) {
            assert!(!stream.nodelay().unwrap(), "Nagle is on by default");
        }

        let changed = set_nodelay_towards(api.local_addr().unwrap()).unwrap();

        assert_eq!(changed, 2);
        assert!(to_api.iter().all(|s| s.nodelay().unwrap()));
        assert!(
            !to_other.nodelay().unwrap(),
            "another peer's socket is left alone"
        );
        // The listener's accepted ends point back at the client ports, not at the API: untouched.
        let (accepted, _) = api.accept().unwrap();
        assert!(!accepted.nodelay().unwrap());
        assert_eq!(set_nodelay_towards(api.local_addr().unwrap()).unwrap(), 0);
    }

    #[test]
    fn the_runtime_api_variable_is_host_and_port() {
        assert_eq!(
            resolve("127.0.0.1:9001"),
            Some("127.0.0.1:9001".parse().unwrap())
        );
        assert_eq!(resolve("localhost:9001").map(|a| a.port()), Some(9001));
        assert_eq!(resolve("127.0.0.1"), None, "no port");
        assert_eq!(resolve(""), None);
    }
}
