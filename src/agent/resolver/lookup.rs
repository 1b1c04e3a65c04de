//! The blocking call behind the resolver: `getnameinfo(NI_NAMEREQD)` through the C library
//! (so `/etc/hosts`, nsswitch and `/etc/resolv.conf` apply as for any program). Runs only
//! on the resolver's own threads ([`super::Resolver`]).

use std::net::IpAddr;

/// `getnameinfo(NI_NAMEREQD)`: the host name of an address, if it has one.
pub(crate) fn reverse_lookup(ip: IpAddr) -> Option<String> {
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
