//! Which IP addresses are globally reachable, as the IANA IPv4 and IPv6
//! Special-Purpose Address Registries say, plus the blocks of the IPv4 and
//! IPv6 Address Space registries that are no unicast destination at all
//! (multicast, IPv4 class E, IPv6 site-local and everything outside
//! `2000::/3`).
//!
//! The two tables below are those registries, one row per entry. An address
//! takes the verdict of the most specific row that holds it (the registries
//! list exceptions inside larger blocks: `192.0.0.9/32` is globally reachable
//! inside `192.0.0.0/24`, which is not). A registry entry whose reachability
//! is "N/A" (the deprecated 6to4 relay anycast block) counts as not
//! reachable. IPv6 forms that carry an IPv4 address (IPv4-mapped,
//! IPv4-compatible, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4, Teredo)
//! are judged by the IPv4 address inside, so `::ffff:10.0.0.1` or
//! `64:ff9b::7f00:1` cannot reach what `10.0.0.1` or `127.0.0.1` could not.
//!
//! No crate on crates.io both follows the registries and looks inside the
//! embedded forms (the standard library's `is_global` is still unstable and
//! does neither fully), hence this module.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a registry row says of the addresses in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Globally reachable: fine to connect to.
    Global,
    /// Not globally reachable (or no unicast destination at all).
    Internal,
    /// Carries an IPv4 address, which decides.
    Embeds(Embedding),
}

/// Where an IPv6 form keeps the IPv4 address it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// The last 32 bits (IPv4-mapped, IPv4-compatible, NAT64 with a /96 prefix).
    Last32,
    /// RFC 6052 with a /48 prefix: bits 48–63 and 72–87 (bits 64–71 are zero).
    Nat64Prefix48,
    /// 6to4: bits 16–47.
    SixToFour,
    /// Teredo: the server in bits 32–63, the client's public address
    /// inverted in the last 32 bits. Both must be reachable.
    Teredo,
}

/// One registry entry: `first` is the block's first address, `len` its prefix length.
pub struct Block<A> {
    pub first: A,
    pub len: u8,
    pub name: &'static str,
    pub reach: Reach,
}

const fn v4(first: Ipv4Addr, len: u8, name: &'static str, reach: Reach) -> Block<Ipv4Addr> {
    Block {
        first,
        len,
        name,
        reach,
    }
}

const fn v6(first: Ipv6Addr, len: u8, name: &'static str, reach: Reach) -> Block<Ipv6Addr> {
    Block {
        first,
        len,
        name,
        reach,
    }
}

use Reach::{Embeds, Global, Internal};

const fn a4(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

#[allow(clippy::too_many_arguments)]
const fn a6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16) -> Ipv6Addr {
    Ipv6Addr::new(a, b, c, d, e, f, g, h)
}

/// The IANA IPv4 Special-Purpose Address Registry, and multicast from the
/// IPv4 Address Space registry; any other address is globally reachable.
#[rustfmt::skip]
pub const IPV4: &[Block<Ipv4Addr>] = &[
    v4(a4(0, 0, 0, 0), 0, "any other address", Global),
    v4(a4(0, 0, 0, 0), 8, "\"This network\"", Internal),
    v4(a4(0, 0, 0, 0), 32, "\"This host on this network\"", Internal),
    v4(a4(10, 0, 0, 0), 8, "Private-Use", Internal),
    v4(a4(100, 64, 0, 0), 10, "Shared Address Space", Internal),
    v4(a4(127, 0, 0, 0), 8, "Loopback", Internal),
    v4(a4(169, 254, 0, 0), 16, "Link Local", Internal),
    v4(a4(172, 16, 0, 0), 12, "Private-Use", Internal),
    v4(a4(192, 0, 0, 0), 24, "IETF Protocol Assignments", Internal),
    v4(a4(192, 0, 0, 0), 29, "IPv4 Service Continuity Prefix", Internal),
    v4(a4(192, 0, 0, 8), 32, "IPv4 dummy address", Internal),
    v4(a4(192, 0, 0, 9), 32, "Port Control Protocol Anycast", Global),
    v4(a4(192, 0, 0, 10), 32, "Traversal Using Relays around NAT Anycast", Global),
    v4(a4(192, 0, 0, 170), 32, "NAT64/DNS64 Discovery", Internal),
    v4(a4(192, 0, 0, 171), 32, "NAT64/DNS64 Discovery", Internal),
    v4(a4(192, 0, 2, 0), 24, "Documentation (TEST-NET-1)", Internal),
    v4(a4(192, 31, 196, 0), 24, "AS112-v4", Global),
    v4(a4(192, 52, 193, 0), 24, "AMT", Global),
    v4(a4(192, 88, 99, 0), 24, "Deprecated (6to4 Relay Anycast)", Internal),
    v4(a4(192, 168, 0, 0), 16, "Private-Use", Internal),
    v4(a4(192, 175, 48, 0), 24, "Direct Delegation AS112 Service", Global),
    v4(a4(198, 18, 0, 0), 15, "Benchmarking", Internal),
    v4(a4(198, 51, 100, 0), 24, "Documentation (TEST-NET-2)", Internal),
    v4(a4(203, 0, 113, 0), 24, "Documentation (TEST-NET-3)", Internal),
    v4(a4(224, 0, 0, 0), 4, "Multicast", Internal),
    v4(a4(240, 0, 0, 0), 4, "Reserved", Internal),
    v4(a4(255, 255, 255, 255), 32, "Limited Broadcast", Internal),
];

/// The IANA IPv6 Special-Purpose Address Registry, with the IPv6 Address
/// Space registry's blocks that are no global unicast destination.
#[rustfmt::skip]
pub const IPV6: &[Block<Ipv6Addr>] = &[
    v6(a6(0, 0, 0, 0, 0, 0, 0, 0), 0, "outside global unicast", Internal),
    v6(a6(0x2000, 0, 0, 0, 0, 0, 0, 0), 3, "Global Unicast", Global),
    v6(a6(0, 0, 0, 0, 0, 0, 0, 0), 128, "Unspecified Address", Internal),
    v6(a6(0, 0, 0, 0, 0, 0, 0, 1), 128, "Loopback Address", Internal),
    v6(a6(0, 0, 0, 0, 0, 0, 0, 0), 96, "IPv4-compatible (deprecated)", Embeds(Embedding::Last32)),
    v6(a6(0, 0, 0, 0, 0, 0xffff, 0, 0), 96, "IPv4-mapped Address", Embeds(Embedding::Last32)),
    v6(a6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96, "IPv4-IPv6 Translat.", Embeds(Embedding::Last32)),
    v6(a6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48, "IPv4-IPv6 Translat. (local use)", Embeds(Embedding::Nat64Prefix48)),
    v6(a6(0x100, 0, 0, 0, 0, 0, 0, 0), 64, "Discard-Only Address Block", Internal),
    v6(a6(0x100, 0, 0, 1, 0, 0, 0, 0), 64, "Dummy IPv6 Prefix", Internal),
    v6(a6(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, "IETF Protocol Assignments", Internal),
    v6(a6(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, "TEREDO", Embeds(Embedding::Teredo)),
    v6(a6(0x2001, 1, 0, 0, 0, 0, 0, 1), 128, "Port Control Protocol Anycast", Global),
    v6(a6(0x2001, 1, 0, 0, 0, 0, 0, 2), 128, "Traversal Using Relays around NAT Anycast", Global),
    v6(a6(0x2001, 1, 0, 0, 0, 0, 0, 3), 128, "DNS-SD Service Registration Protocol Anycast", Global),
    v6(a6(0x2001, 2, 0, 0, 0, 0, 0, 0), 48, "Benchmarking", Internal),
    v6(a6(0x2001, 3, 0, 0, 0, 0, 0, 0), 32, "AMT", Global),
    v6(a6(0x2001, 4, 0x112, 0, 0, 0, 0, 0), 48, "AS112-v6", Global),
    v6(a6(0x2001, 0x10, 0, 0, 0, 0, 0, 0), 28, "Deprecated (previously ORCHID)", Internal),
    v6(a6(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28, "ORCHIDv2", Global),
    v6(a6(0x2001, 0x30, 0, 0, 0, 0, 0, 0), 28, "Drone Remote ID Protocol Entity Tags (DETs) Prefix", Global),
    v6(a6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, "Documentation", Internal),
    v6(a6(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, "6to4", Embeds(Embedding::SixToFour)),
    v6(a6(0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0), 48, "Direct Delegation AS112 Service", Global),
    v6(a6(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, "Documentation", Internal),
    v6(a6(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16, "Segment Routing (SRv6) SIDs", Internal),
    v6(a6(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, "Unique-Local", Internal),
    v6(a6(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "Link-Local Unicast", Internal),
    v6(a6(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "Site-Local (deprecated)", Internal),
    v6(a6(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "Multicast", Internal),
];

/// Whether `ip` may be connected to on behalf of a user: globally
/// reachable, and for the forms that carry an IPv4 address, that address too.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_global_v4(ip),
        IpAddr::V6(ip) => match most_specific(IPV6, u128::from(ip), 128) {
            Global => true,
            Internal => false,
            Embeds(embedding) => embedded(ip, embedding).into_iter().all(is_global_v4),
        },
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    most_specific(IPV4, u128::from(u32::from(ip)), 32) == Global
}

/// The reach of the longest block holding `bits` (an address `width` bits wide).
fn most_specific<A: Copy + Into<Bits>>(table: &[Block<A>], bits: u128, width: u8) -> Reach {
    table
        .iter()
        .filter(|block| holds(block.first.into().0, block.len, bits, width))
        .max_by_key(|block| block.len)
        .map_or(Internal, |block| block.reach)
}

/// An address as the low `width` bits of a `u128`.
pub struct Bits(u128);

impl From<Ipv4Addr> for Bits {
    fn from(ip: Ipv4Addr) -> Bits {
        Bits(u128::from(u32::from(ip)))
    }
}

impl From<Ipv6Addr> for Bits {
    fn from(ip: Ipv6Addr) -> Bits {
        Bits(u128::from(ip))
    }
}

fn holds(first: u128, len: u8, bits: u128, width: u8) -> bool {
    let host_bits = u32::from(width - len);
    first.checked_shr(host_bits).unwrap_or(0) == bits.checked_shr(host_bits).unwrap_or(0)
}

/// The IPv4 addresses an IPv6 form carries.
fn embedded(ip: Ipv6Addr, embedding: Embedding) -> Vec<Ipv4Addr> {
    let o = ip.octets();
    match embedding {
        Embedding::Last32 => vec![a4(o[12], o[13], o[14], o[15])],
        Embedding::Nat64Prefix48 => vec![a4(o[6], o[7], o[9], o[10])],
        Embedding::SixToFour => vec![a4(o[2], o[3], o[4], o[5])],
        Embedding::Teredo => vec![
            a4(o[4], o[5], o[6], o[7]),
            a4(!o[12], !o[13], !o[14], !o[15]),
        ],
    }
}

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
