//! What the kernel knows about rtmp2sink's TCP connection. The element counts bytes it wrote
//! to the socket, but the socket's buffer grows to megabytes, so writes say little about what
//! the link carries; the kernel's `TCP_INFO` does: bytes acknowledged (or selectively
//! acknowledged) by the server. rtmp2sink
//! does not expose its socket, so it is found among this process's descriptors by its peer
//! address, and checked again on every read in case the descriptor was closed and reused.

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};
use std::os::fd::RawFd;

/// The server addresses an `rtmp://` or `rtmps://` URL names (1935 and 443 by default).
pub(crate) fn rtmp_peers(url: &str) -> Vec<SocketAddr> {
    let (default_port, rest) = if let Some(rest) = url.strip_prefix("rtmps://") {
        (443, rest)
    } else if let Some(rest) = url.strip_prefix("rtmp://") {
        (1935, rest)
    } else {
        return Vec::new();
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let with_port = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:{default_port}")
    } else {
        authority.to_owned()
    };
    with_port
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default()
}

/// A TCP connection of this process to one of some addresses.
pub(crate) struct TcpPeer {
    fd: RawFd,
    peer: SocketAddr,
}

/// Counters from `TCP_INFO`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TcpCounters {
    /// Bytes the server has: acknowledged, plus the segments it holds beyond a hole (SACKed).
    /// Acknowledgements alone stall behind one lost segment for a round trip or more, which
    /// reads as the link falling silent.
    pub delivered_bytes: u64,
    /// The lowest round trip seen: the path without its queues.
    pub min_rtt_ms: f64,
}

impl TcpPeer {
    /// The newest (highest-numbered) connected TCP socket to any of `peers`.
    pub fn find(peers: &[SocketAddr]) -> Option<Self> {
        let entries = std::fs::read_dir("/proc/self/fd").ok()?;
        entries
            .filter_map(|e| {
                let e = e.ok()?;
                let fd: RawFd = e.file_name().to_str()?.parse().ok()?;
                let target = std::fs::read_link(e.path()).ok()?;
                target.to_str()?.starts_with("socket:").then_some(fd)
            })
            .filter_map(|fd| {
                let peer = peer_of(fd)?;
                (peers.contains(&peer) && is_tcp(fd)).then_some(Self { fd, peer })
            })
            .max_by_key(|p| p.fd)
    }

    /// `None` once the descriptor is no longer this connection.
    pub fn counters(&self) -> Option<TcpCounters> {
        // A reused descriptor with another peer is not ours; one that is not TCP fails
        // TCP_INFO below.
        if peer_of(self.fd) != Some(self.peer) {
            return None;
        }
        // SAFETY: tcp_info is plain data; the kernel fills at most `len` bytes of it and
        // getsockopt on a descriptor that is not a TCP socket fails without writing.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockopt(
                self.fd,
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&raw mut info).cast(),
                &mut len,
            )
        };
        (rc == 0).then_some(TcpCounters {
            delivered_bytes: info.tcpi_bytes_acked
                + u64::from(info.tcpi_sacked) * u64::from(info.tcpi_snd_mss),
            min_rtt_ms: f64::from(info.tcpi_min_rtt) / 1000.0,
        })
    }
}

fn is_tcp(fd: RawFd) -> bool {
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: writes one int into `kind`, or fails.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut kind).cast(),
            &mut len,
        )
    };
    rc == 0 && kind == libc::SOCK_STREAM
}

fn peer_of(fd: RawFd) -> Option<SocketAddr> {
    // SAFETY: sockaddr_storage is large enough for any address; the kernel writes at most `len`.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let rc = unsafe { libc::getpeername(fd, (&raw mut storage).cast(), &mut len) };
    if rc != 0 {
        return None;
    }
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a: libc::sockaddr_in = unsafe { std::ptr::read((&raw const storage).cast()) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                u32::from_be(a.sin_addr.s_addr).into(),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a: libc::sockaddr_in6 = unsafe { std::ptr::read((&raw const storage).cast()) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                a.sin6_addr.s6_addr.into(),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[test]
    fn rtmp_urls_name_their_server() {
        assert_eq!(
            rtmp_peers("rtmp://127.0.0.1/live/x?key=1"),
            vec!["127.0.0.1:1935".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            rtmp_peers("rtmps://127.0.0.1:8443/live"),
            vec!["127.0.0.1:8443".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            rtmp_peers("rtmp://[::1]/live"),
            vec!["[::1]:1935".parse::<SocketAddr>().unwrap()]
        );
        assert!(rtmp_peers("srt://127.0.0.1:9000").is_empty());
    }

    #[test]
    fn finds_a_connection_by_its_peer_and_counts_acknowledged_bytes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut all = Vec::new();
            socket.read_to_end(&mut all).unwrap();
            all.len()
        });
        let mut client = std::net::TcpStream::connect(server).unwrap();
        let peer = TcpPeer::find(&[server]).expect("the connection is found");
        client.write_all(&[7u8; 100_000]).unwrap();
        client.flush().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut counters = peer.counters().unwrap();
        while counters.delivered_bytes < 100_000 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            counters = peer.counters().unwrap();
        }
        // The SYN counts as one byte.
        assert!(
            (100_000..=100_001).contains(&counters.delivered_bytes),
            "{counters:?}"
        );
        drop(client);
        assert_eq!(reader.join().unwrap(), 100_000);
        assert!(peer.counters().is_none(), "a closed descriptor is noticed");
        assert!(TcpPeer::find(&["127.0.0.1:9".parse().unwrap()]).is_none());
    }
}
