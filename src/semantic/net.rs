//! Addresses as the pinned server reads them: the
//! `ServiceSettings.AllowedUntrustedInternalConnections` list (split and
//! matched by server/public `shared/httpservice`) and listen addresses
//! (handed unchanged to Go's `net.Listen("tcp", addr)`).
//!
//! The Go behaviour restated here (Go 1.26 `net`, `net/netip`):
//! - IP literals are what `netip.ParseAddr` accepts: dotted IPv4 with exactly
//!   four decimal fields, no leading zeros, each at most 255; IPv6 with at
//!   most one `::`, 1-4 hex digits per group, an optional trailing dotted
//!   IPv4 in the last 32 bits, and (IPv6 only) a non-empty `%zone`.
//!   `net.ParseIP`/`net.ParseCIDR` use the same parser but refuse zones.
//! - `net.ParseCIDR` cuts at the first `/`; the prefix is decimal digits
//!   (leading zeros allowed) up to 32 for an IPv4 address, 128 otherwise.
//!   An IPv4-mapped address (`::ffff:1.2.3.4/104`) is an IPv6 network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Splits an allow-list the way the server does before matching: on every
/// Unicode white-space character (Go's `unicode.IsSpace`: the same set as
/// Rust's `char::is_whitespace`) and on `,`, dropping empty fields
/// (`strings.FieldsFunc`). Nothing else separates entries (`;` does not).
pub fn split_address_list(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',').filter(|f| !f.is_empty()).map(str::to_string).collect()
}

/// One allow-list entry, classified as the server uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `net.ParseCIDR` accepts it: the server allows resolved IPs inside it.
    /// `addr` is the address as written (not masked); an IPv4-mapped
    /// address written in IPv6 form stays `V6` (its network is IPv6, see
    /// [`cidr_contains`] for what Go's `Contains` makes of that).
    Cidr { addr: IpAddr, prefix: u8 },
    /// An IP address but not a CIDR (`net.ParseIP`): the server only compares
    /// it, as text, with the host name of the URL being fetched, so `10.0.0.1`
    /// allows `http://10.0.0.1/` but not a name resolving to 10.0.0.1.
    Ip(IpAddr),
    /// Anything else: compared exactly (case-sensitively) with the URL's host.
    Host(String),
}

/// Classifies one entry of a split allow-list (see [`split_address_list`]).
pub fn classify_entry(s: &str) -> Entry {
    if let Some((addr, prefix)) = parse_cidr(s) {
        return Entry::Cidr { addr, prefix };
    }
    match parse_addr(s) {
        Some((ip, None)) => Entry::Ip(ip),
        _ => Entry::Host(s.to_string()),
    }
}

/// Go's `net.ParseCIDR`, returning the address as written and the prefix.
pub fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, mask) = s.split_once('/')?;
    let (ip, zone) = parse_addr(addr)?;
    if zone.is_some() {
        return None;
    }
    let bits: u32 = if ip.is_ipv4() { 32 } else { 128 };
    // Decimal digits only (no sign), leading zeros allowed; Go gives up at
    // 0xFFFFFF, long before any value could matter.
    if mask.is_empty() || !mask.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut n: u32 = 0;
    for b in mask.bytes() {
        n = n * 10 + u32::from(b - b'0');
        if n >= 0xFF_FFFF {
            return None;
        }
    }
    if n > bits {
        return None;
    }
    u8::try_from(n).ok().map(|p| (ip, p))
}

/// Whether the server's check `net.ParseCIDR(entry)` then
/// `(*net.IPNet).Contains(ip)` accepts `ip`, for a CIDR entry from
/// [`classify_entry`]. Go compares IPv4 (and IPv4-mapped) addresses in their
/// 4-byte form, and an IPv6 network counts as IPv4 only when its network
/// address lies in `::ffff:0:0/96` (then only its last 32 mask bits apply):
/// `::ffff:0:0/96` contains every IPv4 address, `::/0` contains none.
pub fn cidr_contains(addr: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    let (bits, addr16): (u32, [u8; 16]) = match addr {
        IpAddr::V4(a) => (32, a.to_ipv6_mapped().octets()),
        IpAddr::V6(a) => (128, a.octets()),
    };
    let prefix = u32::from(prefix).min(bits);
    let mask_len = if bits == 32 { 4 } else { 16 };
    let mut mask = [0u8; 16];
    for (i, m) in mask.iter_mut().enumerate().take(mask_len) {
        let ones = prefix.saturating_sub(8 * i as u32).min(8);
        *m = if ones == 0 { 0 } else { 0xFFu8 << (8 - ones) };
    }
    // The network address (IP.Mask), 4 bytes for an IPv4 mask.
    let net: Vec<u8> = if mask_len == 4 {
        addr16[12..].iter().zip(&mask[..4]).map(|(a, m)| a & m).collect()
    } else {
        addr16.iter().zip(&mask).map(|(a, m)| a & m).collect()
    };
    // networkNumberAndMask: an IPv6 network in ::ffff:0:0/96 is used as IPv4.
    let (nn, m): (Vec<u8>, Vec<u8>) = match (net.len(), to4(&net)) {
        (16, Some(v4)) => (v4.to_vec(), mask[12..16].to_vec()),
        (_, _) => (net, mask[..mask_len].to_vec()),
    };
    let probe: Vec<u8> = match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => match to4(&a.octets()) {
            Some(v4) => v4.to_vec(),
            None => a.octets().to_vec(),
        },
    };
    probe.len() == nn.len() && nn.iter().zip(&m).zip(&probe).all(|((n, m), p)| n & m == p & m)
}

fn to4(b: &[u8]) -> Option<[u8; 4]> {
    match b.len() {
        4 => Some([b[0], b[1], b[2], b[3]]),
        16 if b[..10].iter().all(|&x| x == 0) && b[10] == 0xFF && b[11] == 0xFF => Some([b[12], b[13], b[14], b[15]]),
        _ => None,
    }
}

/// What `net.Listen("tcp", addr)` binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenScope {
    /// 127.0.0.0/8 or ::1 (also written IPv4-mapped, `[::ffff:127.0.0.1]`),
    /// or the name `localhost` (any ASCII case, no trailing dot), which Go
    /// resolves from /etc/hosts.
    Loopback,
    /// Every interface: empty host (`:8067`, and `net.Listen("tcp", "")`
    /// itself), `0.0.0.0`, `::`, `[::0]`, `[::ffff:0.0.0.0]`.
    AllInterfaces,
    /// A concrete non-loopback address, IPv4-mapped forms given as IPv4
    /// (that is how Go binds them); an IPv6 zone is dropped.
    Specific(IpAddr),
    /// Not an IP literal to Go, so resolved by name at start-up: the
    /// result depends on the resolver. `0`, `127.1` and `0x7f.1` are names
    /// to Go, not addresses.
    Hostname(String),
    /// `net.Listen` refuses it: no `:port`, bad brackets, too many colons, a
    /// port outside 0..=65535 or a service name (only Go's built-in names
    /// are known here; /etc/services may define more at run time).
    Invalid,
}

/// See [`ListenScope`]. The port is checked as Go's `LookupPort` does: empty
/// means 0, an optional sign, decimal digits, 0..=65535 (`-0` and `+80` pass).
pub fn listen_scope(addr: &str) -> ListenScope {
    if addr.is_empty() {
        return ListenScope::AllInterfaces;
    }
    let Some((host, port)) = split_host_port(addr) else { return ListenScope::Invalid };
    if lookup_port(port).is_none() {
        return ListenScope::Invalid;
    }
    if host.is_empty() {
        return ListenScope::AllInterfaces;
    }
    match parse_addr(host) {
        Some((ip, _zone)) => {
            let ip = unmap(ip);
            if is_loopback(ip) {
                ListenScope::Loopback
            } else if ip.is_unspecified() {
                ListenScope::AllInterfaces
            } else {
                ListenScope::Specific(ip)
            }
        }
        None if host.eq_ignore_ascii_case("localhost") => ListenScope::Loopback,
        None => ListenScope::Hostname(host.to_string()),
    }
}

/// 127.0.0.0/8 or ::1, IPv4-mapped forms included.
pub fn is_loopback(ip: IpAddr) -> bool {
    match unmap(ip) {
        IpAddr::V4(a) => a.octets()[0] == 127,
        IpAddr::V6(a) => a == Ipv6Addr::LOCALHOST,
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as IPv4; anything else unchanged.
pub fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Go's `net.SplitHostPort`: the port follows the last `:`; a host with a
/// colon must be bracketed; brackets may only enclose the whole host.
pub fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    // Every cut is at an ASCII byte, so the halves are valid UTF-8.
    let (h, p) = split_host_port_bytes(hp.as_bytes())?;
    Some((std::str::from_utf8(h).ok()?, std::str::from_utf8(p).ok()?))
}

/// [`split_host_port`] on bytes (a percent-decoded URL host need not be UTF-8).
pub fn split_host_port_bytes(hp: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = hp.iter().rposition(|&b| b == b':')?;
    let (host, j, k);
    if hp.first() == Some(&b'[') {
        let end = hp.iter().position(|&b| b == b']')?;
        if end + 1 != i {
            return None;
        }
        host = &hp[1..end];
        j = 1;
        k = end + 1;
    } else {
        host = &hp[..i];
        if host.contains(&b':') {
            return None;
        }
        j = 0;
        k = 0;
    }
    if hp[j..].contains(&b'[') || hp[k..].contains(&b']') {
        return None;
    }
    Some((host, &hp[i + 1..]))
}

/// Go's `net.JoinHostPort`: brackets around a host containing `:`.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Go's `LookupPort("tcp", port)` without /etc/services: `None` = refused.
pub fn lookup_port(port: &str) -> Option<u16> {
    if port.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match port.as_bytes()[0] {
        b'+' => (false, &port[1..]),
        b'-' => (true, &port[1..]),
        _ => (false, port),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        // A service name: Go's built-in table, matched ASCII-case-insensitively.
        const SERVICES: [(&str, u16); 14] = [
            ("ftp", 21),
            ("ftps", 990),
            ("gopher", 70),
            ("http", 80),
            ("https", 443),
            ("imap2", 143),
            ("imap3", 220),
            ("imaps", 993),
            ("pop3", 110),
            ("pop3s", 995),
            ("smtp", 25),
            ("submissions", 465),
            ("ssh", 22),
            ("telnet", 23),
        ];
        return SERVICES.iter().find(|(n, _)| n.eq_ignore_ascii_case(port)).map(|(_, p)| *p);
    }
    // Digits saturate (Go caps them near 2^30); only 0..=65535 survives.
    let mut n: u64 = 0;
    for b in digits.bytes() {
        n = (n * 10 + u64::from(b - b'0')).min(1 << 31);
    }
    if neg {
        return if n == 0 { Some(0) } else { None };
    }
    u16::try_from(n).ok()
}

/// Go's `netip.ParseAddr`: the address and the IPv6 zone, if any.
/// IPv4-mapped forms stay IPv6 (`::ffff:1.2.3.4` is `V6`).
pub fn parse_addr(s: &str) -> Option<(IpAddr, Option<&str>)> {
    for b in s.bytes() {
        match b {
            b'.' => return parse_ipv4(s).map(|a| (IpAddr::V4(a), None)),
            b':' => return parse_ipv6(s).map(|(a, z)| (IpAddr::V6(a), z)),
            b'%' => return None,
            _ => {}
        }
    }
    None
}

/// Exactly four dot-separated decimal fields, each 0..=255 without leading zeros.
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut fields = [0u8; 4];
    let mut n = 0;
    for part in s.split('.') {
        if n == 4 || part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if part.len() > 1 && part.starts_with('0') {
            return None;
        }
        let v: u16 = part.parse().ok()?;
        fields[n] = u8::try_from(v).ok()?;
        n += 1;
    }
    (n == 4).then(|| Ipv4Addr::from(fields))
}

fn parse_ipv6(input: &str) -> Option<(Ipv6Addr, Option<&str>)> {
    let (mut s, zone) = match input.split_once('%') {
        Some((_, "")) => return None,
        Some((a, z)) => (a, Some(z)),
        None => (input, None),
    };
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    if let Some(rest) = s.strip_prefix("::") {
        ellipsis = Some(0);
        s = rest;
        if s.is_empty() {
            return Some((Ipv6Addr::UNSPECIFIED, zone));
        }
    }
    let mut i = 0;
    while i < 16 {
        let digits = s.bytes().take_while(u8::is_ascii_hexdigit).count();
        if digits == 0 || digits > 4 {
            return None;
        }
        if s.as_bytes().get(digits) == Some(&b'.') {
            // Trailing dotted IPv4: only where the last 32 bits are.
            if ellipsis.is_none() && i != 12 || i + 4 > 16 {
                return None;
            }
            let v4 = parse_ipv4(s)?;
            ip[i..i + 4].copy_from_slice(&v4.octets());
            s = "";
            i += 4;
            break;
        }
        let v = u16::from_str_radix(&s[..digits], 16).ok()?;
        ip[i..i + 2].copy_from_slice(&v.to_be_bytes());
        i += 2;
        s = &s[digits..];
        if s.is_empty() {
            break;
        }
        s = s.strip_prefix(':')?;
        if s.is_empty() {
            return None;
        }
        if let Some(rest) = s.strip_prefix(':') {
            if ellipsis.is_some() {
                return None;
            }
            ellipsis = Some(i);
            s = rest;
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return None;
    }
    if i < 16 {
        let e = ellipsis?;
        let n = 16 - i;
        ip.copy_within(e..i, e + n);
        ip[e..e + n].fill(0);
    } else if ellipsis.is_some() {
        return None;
    }
    Some((Ipv6Addr::from(ip), zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }
    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    #[test]
    fn lists_split_on_unicode_space_and_commas_only() {
        assert_eq!(split_address_list(" a,,b\tc\nd\u{a0}e\u{2003}f;g "), ["a", "b", "c", "d", "e", "f;g"]);
        assert!(split_address_list(" , \n").is_empty());
    }

    #[test]
    fn entries_follow_go_parse_cidr() {
        assert_eq!(classify_entry("10.0.0.0/8"), Entry::Cidr { addr: v4("10.0.0.0"), prefix: 8 });
        assert_eq!(classify_entry("10.0.0.0/08"), Entry::Cidr { addr: v4("10.0.0.0"), prefix: 8 });
        assert_eq!(classify_entry("::ffff:0:0/96"), Entry::Cidr { addr: v6("::ffff:0.0.0.0"), prefix: 96 });
        assert_eq!(classify_entry("010.0.0.1/8"), Entry::Host("010.0.0.1/8".into()));
        assert_eq!(classify_entry("10.0.0.0/33"), Entry::Host("10.0.0.0/33".into()));
        assert_eq!(classify_entry("10.0.0.0/+8"), Entry::Host("10.0.0.0/+8".into()));
        assert_eq!(classify_entry("fe80::1%eth0/64"), Entry::Host("fe80::1%eth0/64".into()));
        assert_eq!(classify_entry("::ffff:1.2.3.4"), Entry::Ip(v6("::ffff:1.2.3.4")));
        assert_eq!(classify_entry("1.2.3.4"), Entry::Ip(v4("1.2.3.4")));
        assert_eq!(classify_entry("fe80::1%eth0"), Entry::Host("fe80::1%eth0".into()));
        assert_eq!(classify_entry("127.1"), Entry::Host("127.1".into()));
        assert_eq!(classify_entry("1::2:3:4:5:6:7:8"), Entry::Host("1::2:3:4:5:6:7:8".into()));
        assert_eq!(classify_entry("::1.2.3.4"), Entry::Ip(v6("::102:304")));
    }

    #[test]
    fn containment_follows_go_ipnet_contains() {
        let all4 = v6("::ffff:0:0");
        assert!(cidr_contains(all4, 96, v4("8.8.8.8")));
        assert!(!cidr_contains(v6("::"), 0, v4("8.8.8.8")));
        assert!(cidr_contains(v6("::"), 0, v6("2001:db8::1")));
        assert!(cidr_contains(v4("0.0.0.0"), 1, v6("::ffff:10.1.2.3")));
        assert!(!cidr_contains(v4("128.0.0.0"), 1, v4("10.1.2.3")));
        assert!(cidr_contains(v4("10.9.9.9"), 8, v4("10.1.2.3")));
    }

    #[test]
    fn listen_scopes() {
        use ListenScope::*;
        assert_eq!(listen_scope(":8067"), AllInterfaces);
        assert_eq!(listen_scope("[::0]:8067"), AllInterfaces);
        assert_eq!(listen_scope("[::ffff:0.0.0.0]:8067"), AllInterfaces);
        assert_eq!(listen_scope("0.0.0.0:8067"), AllInterfaces);
        assert_eq!(listen_scope(""), AllInterfaces);
        assert_eq!(listen_scope("0:8067"), Hostname("0".into()));
        assert_eq!(listen_scope("127.1:8067"), Hostname("127.1".into()));
        assert_eq!(listen_scope("localhost:8067"), Loopback);
        assert_eq!(listen_scope("localhost.:8067"), Hostname("localhost.".into()));
        assert_eq!(listen_scope("127.0.0.2:1"), Loopback);
        assert_eq!(listen_scope("[::ffff:127.0.0.1]:1"), Loopback);
        assert_eq!(listen_scope("[127.0.0.1]:1"), Loopback);
        assert_eq!(listen_scope("[::1%lo]:1"), Loopback);
        assert_eq!(listen_scope("[fe80::1%eth0]:1"), Specific(v6("fe80::1")));
        assert_eq!(listen_scope("[::ffff:10.1.2.3]:1"), Specific(v4("10.1.2.3")));
        assert_eq!(listen_scope("0.0.0.0"), Invalid);
        assert_eq!(listen_scope("::1:80"), Invalid);
        assert_eq!(listen_scope(":65536"), Invalid);
        assert_eq!(listen_scope(":-0"), AllInterfaces);
        assert_eq!(listen_scope(":+80"), AllInterfaces);
        assert_eq!(listen_scope(":HTTPS"), AllInterfaces);
        assert_eq!(listen_scope(":postgresql"), Invalid);
        assert_eq!(listen_scope("[a]b:80"), Invalid);
    }

    #[test]
    fn go_ip_literals() {
        for bad in ["1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "::1::", "1:2:3:4:5:6:7:8:9", "12345::", ":1", "1:", "%eth0", "fe80::1%", "1.2.3.4%eth0"] {
            assert!(parse_addr(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_addr("1:2:3:4:5:6:1.2.3.4").map(|x| x.0), Some(v6("1:2:3:4:5:6:102:304")));
        assert!(parse_addr("1:2:3:4:5:6:7:1.2.3.4").is_none());
        assert!(parse_addr("1:2:3:4:5:6:7::").is_some());
        assert!(parse_addr("1:2:3:4:5:6:7:8::").is_none());
        assert_eq!(parse_addr("FE80::1%en0"), Some((v6("fe80::1"), Some("en0"))));
    }
}
