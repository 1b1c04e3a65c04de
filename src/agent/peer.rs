//! The client's address as event headers (`clientIPHeader`, `clientHostnameHeader`): the IP
//! as text, and the host name from a reverse lookup (the process's resolver,
//! [`crate::agent::resolver`]: its own threads, cached, at most [`LOOKUP_TIMEOUT`], falling
//! back to the IP as Java's `InetSocketAddress.getHostName` does).

use std::net::{IpAddr, SocketAddr};

/// Which client headers to add.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerHeaders {
    ip_header: Option<String>,
    hostname_header: Option<String>,
}

impl PeerHeaders {
    /// Headers named by `clientIPHeader` and `clientHostnameHeader`.
    pub(crate) fn new(ip_header: Option<String>, hostname_header: Option<String>) -> Self {
        PeerHeaders {
            ip_header,
            hostname_header,
        }
    }

    /// The (header, value) pairs for a client.
    pub(crate) async fn for_peer(&self, peer: SocketAddr) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(h) = &self.ip_header {
            out.push((h.clone(), peer.ip().to_string()));
        }
        if let Some(h) = &self.hostname_header {
            out.push((h.clone(), self.host_name(peer.ip()).await));
        }
        out
    }

    /// The host name of `ip` (its text when it has none, the lookup takes too long or the
    /// resolver's queue is full).
    pub(crate) async fn host_name(&self, ip: IpAddr) -> String {
        crate::agent::resolver::global().host_name(ip).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_ip_header_is_the_address_and_the_hostname_header_is_never_empty() {
        let p = PeerHeaders::new(Some("ip".into()), Some("name".into()));
        let got = p.for_peer("127.0.0.1:9".parse().unwrap()).await;
        assert_eq!(got[0], ("ip".to_owned(), "127.0.0.1".to_owned()));
        assert_eq!(got[1].0, "name");
        assert!(!got[1].1.is_empty());
    }
}
