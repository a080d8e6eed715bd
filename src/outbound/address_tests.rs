//! Both edges of every block of the tables, and the addresses just outside,
//! written out by hand (not derived from the tables, so a wrong row fails).

use super::*;

/// Refused: the first and last address of every block that is not globally
/// reachable, and exceptions' neighbours inside larger blocks.
#[rustfmt::skip]
const REFUSED_V4: &[&str] = &[
    "0.0.0.0", "0.255.255.255",
    "10.0.0.0", "10.255.255.255",
    "100.64.0.0", "100.127.255.255",
    "127.0.0.0", "127.0.0.1", "127.255.255.255",
    "169.254.0.0", "169.254.169.254", "169.254.255.255",
    "172.16.0.0", "172.31.255.255",
    "192.0.0.0", "192.0.0.7", "192.0.0.8", "192.0.0.11", "192.0.0.170", "192.0.0.171", "192.0.0.255",
    "192.0.2.0", "192.0.2.255",
    "192.88.99.0", "192.88.99.255",
    "192.168.0.0", "192.168.255.255",
    "198.18.0.0", "198.19.255.255",
    "198.51.100.0", "198.51.100.255",
    "203.0.113.0", "203.0.113.255",
    "224.0.0.0", "239.255.255.255",
    "240.0.0.0", "255.255.255.254",
    "255.255.255.255",
];

/// Accepted: the addresses just outside those blocks, and the globally
/// reachable blocks the registry lists (both edges).
#[rustfmt::skip]
const ACCEPTED_V4: &[&str] = &[
    "1.0.0.0", "9.255.255.255", "11.0.0.0",
    "100.63.255.255", "100.128.0.0",
    "126.255.255.255", "128.0.0.0",
    "169.253.255.255", "169.255.0.0",
    "172.15.255.255", "172.32.0.0",
    "191.255.255.255", "192.0.1.0",
    "192.0.0.9", "192.0.0.10",
    "192.0.1.255", "192.0.3.0",
    "192.31.196.0", "192.31.196.255",
    "192.52.193.0", "192.52.193.255",
    "192.88.98.255", "192.88.100.0",
    "192.167.255.255", "192.169.0.0",
    "192.175.48.0", "192.175.48.255",
    "198.17.255.255", "198.20.0.0",
    "198.51.99.255", "198.51.101.0",
    "203.0.112.255", "203.0.114.0",
    "223.255.255.255",
    "8.8.8.8", "93.184.216.34",
];

#[rustfmt::skip]
const REFUSED_V6: &[&str] = &[
    // Unspecified, loopback, and what lies outside 2000::/3 in no other block.
    "::", "::1", "::1:0:0:0", "::fffe:ffff:ffff", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "4000::", "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    // IPv4-compatible, IPv4-mapped and NAT64 (/96) forms of internal IPv4 addresses, and their edges.
    "::0.0.0.2", "::127.0.0.1", "::10.0.0.1", "::255.255.255.255",
    "::ffff:0.0.0.0", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:255.255.255.255",
    "64:ff9b::", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::c0a8:1", "64:ff9b::ffff:ffff",
    // NAT64 with the local-use /48: 10.0.0.1 and 127.0.0.1 inside, and the edges.
    "64:ff9b:1::", "64:ff9b:1:a00:0:100::", "64:ff9b:1:7f00:0:100::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
    "100::", "100::ffff:ffff:ffff:ffff",
    "100:0:0:1::", "100:0:0:1:ffff:ffff:ffff:ffff",
    // IETF Protocol Assignments and what is internal inside it.
    "2001:1::", "2001:1::4", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:2::", "2001:2:0:ffff:ffff:ffff:ffff:ffff",
    "2001:10::", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff",
    // Teredo: the edges, a private server, a private client (10.0.0.1 inverted).
    "2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:0:a00:1::a247:27dd", "2001:0:5db8:d822::f5ff:fffe",
    "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    // 6to4: the edges, and 10.0.0.1, 127.0.0.1 and 192.168.1.1 inside.
    "2002::", "2002:a00:1::", "2002:7f00:1::1", "2002:c0a8:101::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
    "5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fc00::", "fd00::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fec0::", "fec0::1", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "ff00::", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];

#[rustfmt::skip]
const ACCEPTED_V6: &[&str] = &[
    "2000::", "3ffe::", "2606:4700::1111",
    // Around 2001::/23 and the reachable blocks inside it.
    "2001:200::", "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:1::1", "2001:1::2", "2001:1::3",
    "2001:3::", "2001:3:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:4:112::", "2001:4:112:ffff:ffff:ffff:ffff:ffff",
    "2001:20::", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:30::", "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::",
    "2003::", "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "2620:4f:8000::", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff",
    "3fff:1000::", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    // Embedded forms of a public IPv4 address (93.184.216.34).
    "::ffff:93.184.216.34", "::93.184.216.34", "64:ff9b::5db8:d822",
    "64:ff9b:1:5db8:d8:2200::", "2002:5db8:d822::1", "2001:0:5db8:d822::a247:27dd",
];

fn global(text: &str) -> bool {
    is_global(
        text.parse()
            .unwrap_or_else(|_| panic!("{text} is an address")),
    )
}

#[test]
fn every_internal_block_is_refused_at_both_edges() {
    for address in REFUSED_V4.iter().chain(REFUSED_V6) {
        assert!(!global(address), "{address} must be refused");
    }
}

#[test]
fn addresses_just_outside_them_and_globally_reachable_exceptions_are_accepted() {
    for address in ACCEPTED_V4.iter().chain(ACCEPTED_V6) {
        assert!(global(address), "{address} must be accepted");
    }
}

#[test]
fn every_row_names_the_first_address_of_its_block() {
    let v4 = IPV4
        .iter()
        .map(|b| (b.name, Bits::from(b.first).0, b.len, 32));
    let v6 = IPV6
        .iter()
        .map(|b| (b.name, Bits::from(b.first).0, b.len, 128));
    for (name, first, len, width) in v4.chain(v6) {
        let host_bits = u32::from(width - len);
        let host = first & 1u128.checked_shl(host_bits).map_or(u128::MAX, |b| b - 1);
        assert_eq!(host, 0, "{name}/{len} has host bits set");
    }
}
