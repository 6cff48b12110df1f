//! Connections per client address. The global connection cap keeps the server's descriptors
//! bounded; this keeps one address (one IPv4 address, one IPv6 /64: what one host or one
//! subscriber usually holds whole) from taking every slot with idle or trickling connections.
//! Trusted reverse proxies carry many clients and are exempt.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

use crate::client_ip::IpNet;

/// Open connections per address group, up to `per_peer` each.
#[derive(Debug, Clone)]
pub struct PeerSlots {
    per_peer: usize,
    exempt: Arc<[IpNet]>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// A connection's place in its group, given back when dropped.
#[derive(Debug)]
pub struct PeerSlot {
    group: Option<IpAddr>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PeerSlots {
    /// At most `per_peer` connections per address group (at least one), except from `exempt`.
    pub fn new(per_peer: usize, exempt: Vec<IpNet>) -> Self {
        Self { per_peer: per_peer.max(1), exempt: exempt.into(), open: Arc::default() }
    }

    /// No per-address cap (tests and embedders that front kura with their own).
    pub fn unlimited() -> Self {
        Self::new(usize::MAX, Vec::new())
    }

    /// A slot for a connection from `peer`, or `None` when its group is full.
    pub fn enter(&self, peer: IpAddr) -> Option<PeerSlot> {
        if self.exempt.iter().any(|net| net.contains(peer)) {
            return Some(PeerSlot { group: None, open: self.open.clone() });
        }
        let group = address_group(peer);
        // The counts stay consistent whatever panicked while holding the lock: each update is
        // a single insert or removal.
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(group).or_insert(0);
        if *count >= self.per_peer {
            return None;
        }
        *count += 1;
        Some(PeerSlot { group: Some(group), open: self.open.clone() })
    }

    /// Connections open from `peer`'s group.
    pub fn open_from(&self, peer: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&address_group(peer)).copied().unwrap_or(0)
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let Some(group) = self.group else { return };
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&group) {
            *count -= 1;
            if *count == 0 {
                open.remove(&group);
            }
        }
    }
}

/// IPv4 as is (also when mapped into IPv6), IPv6 by its /64.
fn address_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_group_holds_at_most_its_share_and_gets_slots_back() {
        let slots = PeerSlots::new(2, Vec::new());
        let first = slots.enter(ip("192.0.2.1")).unwrap();
        let _second = slots.enter(ip("::ffff:192.0.2.1")).unwrap();
        assert!(slots.enter(ip("192.0.2.1")).is_none(), "mapped IPv4 counts as the same address");
        assert!(slots.enter(ip("192.0.2.2")).is_some(), "another address has its own share");
        drop(first);
        assert_eq!(slots.open_from(ip("192.0.2.1")), 1);
        assert!(slots.enter(ip("192.0.2.1")).is_some());
    }

    #[test]
    fn ipv6_addresses_share_their_64_and_proxies_are_exempt() {
        let proxy: IpNet = "10.0.0.0/8".parse().unwrap();
        let slots = PeerSlots::new(1, vec![proxy]);
        let _held = slots.enter(ip("2001:db8:1:2::1")).unwrap();
        assert!(slots.enter(ip("2001:db8:1:2:ffff::9")).is_none());
        assert!(slots.enter(ip("2001:db8:1:3::1")).is_some());
        let proxied: Vec<_> = (0..10).map(|_| slots.enter(ip("10.1.2.3")).unwrap()).collect();
        assert_eq!(proxied.len(), 10);
        assert_eq!(slots.open_from(ip("10.1.2.3")), 0);
    }
}
