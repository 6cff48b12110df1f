//! The client's address behind reverse proxies. `X-Forwarded-For` is believed only when the
//! peer is a trusted proxy, and then read from the right: each trusted hop appends the address
//! it saw, so the first untrusted address from the right is the client. Anything a client
//! writes into the header itself sits to the left of that and is ignored. Sans-IO.

use std::net::IpAddr;
use std::str::FromStr;

/// An address block such as `10.0.0.0/8`, `::1/128` or a single address: an [`ipnet::IpNet`]
/// parsed as kura's configuration writes it (a bare address is a block of one, and a block
/// written as IPv4-mapped IPv6 is the IPv4 block, since addresses are compared so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet(ipnet::IpNet);

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let net = match text.parse::<ipnet::IpNet>() {
            Ok(net) => net,
            Err(_) if text.contains('/') => {
                return Err(format!("'{text}' is not a CIDR block (address/prefix length within its bits)"));
            }
            Err(_) => text
                .parse::<IpAddr>()
                .map(ipnet::IpNet::from)
                .map_err(|_| format!("'{text}' is not an IP address or CIDR block"))?,
        };
        if let ipnet::IpNet::V6(v6) = net
            && let Some(v4) = v6.addr().to_ipv4_mapped()
            && let Some(prefix) = v6.prefix_len().checked_sub(96)
            && let Ok(v4) = ipnet::Ipv4Net::new(v4, prefix)
        {
            return Ok(Self(v4.into()));
        }
        Ok(Self(net))
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }
}

/// IPv4 addresses that arrive mapped into IPv6 (`::ffff:a.b.c.d`) compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address: the peer itself unless it is a trusted proxy; then the right-most
/// address in the `X-Forwarded-For` values that is not a trusted proxy. Unparsable entries end
/// the walk (the hop that wrote them is not trusted to be a proxy), and so does an empty header.
/// Values are bytes and split before decoding: junk a client put on the left of a line (even
/// non-UTF-8) must not hide the address a proxy appended on its right.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a [u8]>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if !is_trusted(peer) {
        return client;
    }
    let hops = forwarded_for.rev().flat_map(|value| value.rsplit(|b| *b == b','));
    for hop in hops {
        let Some(ip) = std::str::from_utf8(hop).ok().and_then(|h| h.trim().parse::<IpAddr>().ok()) else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_contain() {
        let block: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains(ip("10.1.200.3")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(block.contains(ip("::ffff:10.1.0.9")), "mapped IPv4");
        let odd: IpNet = "192.168.1.128/25".parse().unwrap();
        assert!(odd.contains(ip("192.168.1.200")) && !odd.contains(ip("192.168.1.127")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("0.0.0.0/0".parse::<IpNet>().unwrap().contains(ip("8.8.8.8")));
        assert!("::ffff:10.0.0.0/104".parse::<IpNet>().unwrap().contains(ip("10.9.9.9")));
        assert!("127.0.0.1".parse::<IpNet>().unwrap().contains(ip("127.0.0.1")));
        for bad in ["", "10.0.0.0/33", "::/129", "host", "10.0.0.0/x", "10.0.0.0/-1"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let xff = |values: &'static [&'static str]| values.iter().map(|v| v.as_bytes());
        // An untrusted peer: its header is ignored.
        assert_eq!(client_address(ip("203.0.113.9"), xff(&["198.51.100.1"]), &trusted), ip("203.0.113.9"));
        // One trusted proxy.
        assert_eq!(client_address(ip("127.0.0.1"), xff(&["198.51.100.1"]), &trusted), ip("198.51.100.1"));
        // A forged left part is skipped: the proxy appended the real address last.
        let forged = xff(&["1.2.3.4, 198.51.100.1"]);
        assert_eq!(client_address(ip("127.0.0.1"), forged, &trusted), ip("198.51.100.1"));
        // Two trusted hops, over two header lines.
        let chain = xff(&["198.51.100.1, 10.0.0.5", "10.0.0.6"]);
        assert_eq!(client_address(ip("127.0.0.1"), chain, &trusted), ip("198.51.100.1"));
        // No header, or garbage: the last address known.
        assert_eq!(client_address(ip("127.0.0.1"), xff(&[]), &trusted), ip("127.0.0.1"));
        assert_eq!(client_address(ip("127.0.0.1"), xff(&["junk, 10.0.0.5"]), &trusted), ip("10.0.0.5"));
        // Non-UTF-8 junk on the left of the proxy's entry does not hide it.
        let junk: [&[u8]; 1] = [b"\xff\xfe, 198.51.100.1"];
        assert_eq!(client_address(ip("127.0.0.1"), junk.into_iter(), &trusted), ip("198.51.100.1"));
        // Nothing trusted: the peer.
        assert_eq!(client_address(ip("127.0.0.1"), xff(&["198.51.100.1"]), &[]), ip("127.0.0.1"));
    }
}
