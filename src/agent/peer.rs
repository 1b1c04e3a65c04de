//! The client's address as event headers (`clientIPHeader`, `clientHostnameHeader`): the IP
//! as text, and the host name from a reverse lookup (bounded by [`LOOKUP_TIMEOUT`], falling
//! back to the IP as Java's `InetSocketAddress.getHostName` does). Lookups are cached.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

/// Longest wait for one reverse lookup.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// Most cached host names (the cache is emptied when full).
pub const CACHE_ENTRIES_MAX: usize = 4096;

/// Which client headers to add, and a shared cache of reverse lookups.
#[derive(Clone, Debug, Default)]
pub struct PeerHeaders {
    ip_header: Option<String>,
    hostname_header: Option<String>,
    cache: Arc<Mutex<HashMap<IpAddr, String>>>,
}

impl PeerHeaders {
    /// Headers named by `clientIPHeader` and `clientHostnameHeader`.
    pub fn new(ip_header: Option<String>, hostname_header: Option<String>) -> Self {
        PeerHeaders {
            ip_header,
            hostname_header,
            cache: Arc::default(),
        }
    }

    /// The (header, value) pairs for a client.
    pub async fn for_peer(&self, peer: SocketAddr) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(h) = &self.ip_header {
            out.push((h.clone(), peer.ip().to_string()));
        }
        if let Some(h) = &self.hostname_header {
            out.push((h.clone(), self.host_name(peer.ip()).await));
        }
        out
    }

    /// The host name of `ip` (its text when it has none or the lookup takes too long),
    /// from the cache when it is there.
    pub async fn host_name(&self, ip: IpAddr) -> String {
        if let Some(h) = self.cache.lock().get(&ip) {
            return h.clone();
        }
        let looked = tokio::time::timeout(
            LOOKUP_TIMEOUT,
            tokio::task::spawn_blocking(move || reverse_lookup(ip)),
        )
        .await;
        let name = match looked {
            // A name from the resolver is the network's to choose: no control characters.
            Ok(Ok(Some(name))) => crate::agent::log_text::escape(&name).into_owned(),
            _ => ip.to_string(),
        };
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_ENTRIES_MAX {
            cache.clear();
        }
        cache.insert(ip, name.clone());
        name
    }
}

/// `getnameinfo(NI_NAMEREQD)`: the host name of an address, if it has one.
fn reverse_lookup(ip: IpAddr) -> Option<String> {
    let sa = socket2_free_sockaddr(ip);
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: `sa` is a valid, initialised sockaddr of the length passed; `host` is a writable
    // buffer of the length passed; getnameinfo writes a NUL-terminated string into it.
    let rc = unsafe {
        libc::getnameinfo(
            std::ptr::addr_of!(sa.0).cast(),
            sa.1,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo succeeded, so `host` holds a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

fn socket2_free_sockaddr(ip: IpAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match ip {
        IpAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(std::ptr::addr_of_mut!(storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        IpAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(std::ptr::addr_of_mut!(storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
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
