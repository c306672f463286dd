//! Interface settings through the IP Helper API, by the adapter's LUID: no `netsh`, no program
//! run.
//!
//! - Addresses: `CreateUnicastIpAddressEntry` with the on-link prefix length and the DAD state
//!   "preferred", so that the address is usable (`bind`) at once instead of after duplicate
//!   address detection; `DeleteUnicastIpAddressEntry`; `GetUnicastIpAddressTable` filtered by
//!   LUID for the listing.
//! - MTU: per address family, `GetIpInterfaceEntry` → `NlMtu` → `SetIpInterfaceEntry`, with
//!   `SitePrefixLength` reset to 0 first (the getter fills it in, and the setter refuses the
//!   row with it: tun-rs's findings); a family that is disabled on the adapter (IPv6 turned
//!   off) answers `ERROR_NOT_FOUND` and is skipped.
//! - Link state: up while the session runs (Wintun reports the media connected then). There is
//!   no API to take it down short of ending the session, which would end the device: `set_up(false)`
//!   is unsupported.
//! - Rename: no documented API either, so the name is given at creation only.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use windows_sys::Win32::Foundation::WIN32_ERROR;
use windows_sys::Win32::NetworkManagement::IpHelper::{
    ConvertInterfaceAliasToLuid, ConvertInterfaceLuidToIndex, CreateUnicastIpAddressEntry,
    DeleteUnicastIpAddressEntry, FreeMibTable, GetIfEntry2, GetIpInterfaceEntry,
    GetUnicastIpAddressTable, SetIpInterfaceEntry, MIB_IF_ROW2, MIB_IPINTERFACE_ROW,
    MIB_UNICASTIPADDRESS_ROW, MIB_UNICASTIPADDRESS_TABLE,
};
use windows_sys::Win32::NetworkManagement::Ndis::{IfOperStatusUp, NET_LUID_LH};
use windows_sys::Win32::Networking::WinSock::{
    IpDadStatePreferred, IpPrefixOriginUnchanged, IpSuffixOriginUnchanged, ADDRESS_FAMILY, AF_INET,
    AF_INET6, AF_UNSPEC, IN6_ADDR, IN6_ADDR_0, IN_ADDR, IN_ADDR_0, SOCKADDR_IN, SOCKADDR_IN6,
    SOCKADDR_INET,
};

use super::adapter::Adapter;
use super::errors::{ERROR_NOT_FOUND, ERROR_NOT_SUPPORTED, ERROR_OBJECT_ALREADY_EXISTS};
use crate::net::InterfaceAddress;

/// A Win32 status as a `Result`.
fn check(status: WIN32_ERROR) -> io::Result<()> {
    match status {
        0 => Ok(()),
        code => Err(io::Error::from_raw_os_error(code as i32)),
    }
}

fn luid(value: u64) -> NET_LUID_LH {
    NET_LUID_LH { Value: value }
}

/// The handle for an interface's settings: its name and LUID, and the adapter, kept open.
#[derive(Debug)]
pub(crate) struct Interface {
    name: String,
    luid: u64,
    _adapter: Arc<Adapter>,
}

impl Interface {
    pub(crate) fn new(name: String, adapter: Arc<Adapter>) -> Interface {
        Interface {
            name,
            luid: adapter.luid(),
            _adapter: adapter,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn index(&self) -> io::Result<u32> {
        index(self.luid)
    }

    pub(crate) fn mtu(&self) -> io::Result<u32> {
        mtu(self.luid)
    }

    pub(crate) fn set_mtu(&self, mtu: u32) -> io::Result<()> {
        set_mtu(self.luid, mtu)
    }

    pub(crate) fn is_up(&self) -> io::Result<bool> {
        is_up(self.luid)
    }

    /// Up is the only state a running session has; down has no API.
    pub(crate) fn set_up(&self, up: bool) -> io::Result<()> {
        if up {
            return Ok(());
        }
        Err(io::Error::from_raw_os_error(ERROR_NOT_SUPPORTED))
    }

    /// Wintun adapters are layer 3: no MAC address (the device refuses before this for TUN).
    pub(crate) fn mac(&self) -> io::Result<[u8; 6]> {
        Err(io::Error::from_raw_os_error(ERROR_NOT_SUPPORTED))
    }

    pub(crate) fn set_mac(&self, _mac: [u8; 6]) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(ERROR_NOT_SUPPORTED))
    }

    pub(crate) fn add_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        add_address(self.luid, address.into(), prefix_len)
    }

    pub(crate) fn remove_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        remove_address(self.luid, address.into(), prefix_len)
    }

    pub(crate) fn add_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
        add_address(self.luid, address.into(), prefix_len)
    }

    pub(crate) fn remove_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
        remove_address(self.luid, address.into(), prefix_len)
    }

    pub(crate) fn addresses(&self) -> io::Result<Vec<InterfaceAddress>> {
        addresses(self.luid)
    }
}

/// Whether an interface (of any kind) is called `alias`.
pub(crate) fn alias_exists(alias: &str) -> bool {
    let alias = super::name::wide(alias);
    let mut found = luid(0);
    // SAFETY: a NUL-terminated UTF-16 string and a valid out pointer.
    unsafe { ConvertInterfaceAliasToLuid(alias.as_ptr(), &mut found) == 0 }
}

pub(crate) fn index(value: u64) -> io::Result<u32> {
    let mut index = 0;
    // SAFETY: valid in and out pointers.
    check(unsafe { ConvertInterfaceLuidToIndex(&luid(value), &mut index) })?;
    Ok(index)
}

/// The operational status: up while Wintun reports the media connected.
pub(crate) fn is_up(value: u64) -> io::Result<bool> {
    // SAFETY: an all-zero MIB_IF_ROW2 is valid (plain data).
    let mut row: MIB_IF_ROW2 = unsafe { std::mem::zeroed() };
    row.InterfaceLuid = luid(value);
    // SAFETY: a row with its LUID set, as the function requires.
    check(unsafe { GetIfEntry2(&mut row) })?;
    Ok(row.OperStatus == IfOperStatusUp)
}

/// The interface row of one family, `None` if that family is disabled on the interface.
fn interface_row(value: u64, family: ADDRESS_FAMILY) -> io::Result<Option<MIB_IPINTERFACE_ROW>> {
    // The getter needs only the family and the LUID (it fills in the rest), so the row is not
    // `InitializeIpInterfaceEntry`'s.
    let mut row = MIB_IPINTERFACE_ROW {
        Family: family,
        InterfaceLuid: luid(value),
        ..Default::default()
    };
    // SAFETY: a row with its family and LUID set, as the function requires.
    match check(unsafe { GetIpInterfaceEntry(&mut row) }) {
        Ok(()) => Ok(Some(row)),
        Err(err) if err.raw_os_error() == Some(ERROR_NOT_FOUND) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The IPv4 MTU, or the IPv6 one where IPv4 is disabled.
pub(crate) fn mtu(value: u64) -> io::Result<u32> {
    for family in [AF_INET, AF_INET6] {
        if let Some(row) = interface_row(value, family)? {
            return Ok(row.NlMtu);
        }
    }
    Err(io::Error::from_raw_os_error(ERROR_NOT_FOUND))
}

/// Sets the MTU of every enabled family.
pub(crate) fn set_mtu(value: u64, mtu: u32) -> io::Result<()> {
    let mut set = false;
    for family in [AF_INET, AF_INET6] {
        let Some(mut row) = interface_row(value, family)? else {
            continue;
        };
        prepare_mtu_row(&mut row, mtu);
        // SAFETY: a row read by GetIpInterfaceEntry, changed as documented.
        check(unsafe { SetIpInterfaceEntry(&mut row) })?;
        set = true;
    }
    if set {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(ERROR_NOT_FOUND))
    }
}

/// The row to write back: the new MTU, and `SitePrefixLength` 0, which `SetIpInterfaceEntry`
/// requires (it answers `ERROR_INVALID_PARAMETER` for the value the getter returns).
fn prepare_mtu_row(row: &mut MIB_IPINTERFACE_ROW, mtu: u32) {
    row.NlMtu = mtu;
    row.SitePrefixLength = 0;
}

/// `ip` as the `SOCKADDR_INET` the IP Helper rows carry (port and scope 0).
fn sockaddr(ip: IpAddr) -> SOCKADDR_INET {
    match ip {
        IpAddr::V4(ip) => SOCKADDR_INET {
            Ipv4: SOCKADDR_IN {
                sin_family: AF_INET,
                sin_port: 0,
                sin_addr: IN_ADDR {
                    // In network order, as the octets are.
                    S_un: IN_ADDR_0 {
                        S_addr: u32::from_ne_bytes(ip.octets()),
                    },
                },
                sin_zero: [0; 8],
            },
        },
        IpAddr::V6(ip) => SOCKADDR_INET {
            Ipv6: SOCKADDR_IN6 {
                sin6_family: AF_INET6,
                sin6_addr: IN6_ADDR {
                    u: IN6_ADDR_0 { Byte: ip.octets() },
                },
                ..Default::default()
            },
        },
    }
}

/// The address in a `SOCKADDR_INET`, if it is IPv4 or IPv6.
fn ip_of(address: &SOCKADDR_INET) -> Option<IpAddr> {
    // SAFETY: the family is the first member of every variant.
    match unsafe { address.si_family } {
        // SAFETY: the family says which variant is filled in; every byte pattern is valid.
        AF_INET => Some(IpAddr::V4(Ipv4Addr::from(unsafe {
            address.Ipv4.sin_addr.S_un.S_addr.to_ne_bytes()
        }))),
        // SAFETY: as above.
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(unsafe {
            address.Ipv6.sin6_addr.u.Byte
        }))),
        _ => None,
    }
}

/// The row that adds `ip/prefix_len` to the interface, usable at once (DAD state preferred).
///
/// The defaults are `InitializeUnicastIpAddressEntry`'s, as documented (origins "unchanged",
/// infinite lifetimes, used as a source, everything else zero), written out rather than
/// called: Wine lacks that function, and this way the row that Windows receives is the one
/// tested under Wine.
pub(crate) fn unicast_row(value: u64, ip: IpAddr, prefix_len: u8) -> MIB_UNICASTIPADDRESS_ROW {
    MIB_UNICASTIPADDRESS_ROW {
        Address: sockaddr(ip),
        InterfaceLuid: luid(value),
        PrefixOrigin: IpPrefixOriginUnchanged,
        SuffixOrigin: IpSuffixOriginUnchanged,
        ValidLifetime: INFINITE_LIFETIME,
        PreferredLifetime: INFINITE_LIFETIME,
        OnLinkPrefixLength: prefix_len,
        SkipAsSource: false,
        DadState: IpDadStatePreferred,
        ..Default::default()
    }
}

/// An address lifetime that never ends (`0xffffffff`, "infinite" in `netioapi.h`).
const INFINITE_LIFETIME: u32 = u32::MAX;

/// The address and prefix a row holds.
pub(crate) fn row_address(row: &MIB_UNICASTIPADDRESS_ROW) -> Option<InterfaceAddress> {
    Some(InterfaceAddress {
        ip: ip_of(&row.Address)?,
        prefix_len: row.OnLinkPrefixLength,
    })
}

/// Adds an address; one that is there already counts as added.
fn add_address(value: u64, ip: IpAddr, prefix_len: u8) -> io::Result<()> {
    let row = unicast_row(value, ip, prefix_len);
    // SAFETY: a complete row.
    match check(unsafe { CreateUnicastIpAddressEntry(&row) }) {
        Err(err) if err.raw_os_error() == Some(ERROR_OBJECT_ALREADY_EXISTS) => Ok(()),
        result => result,
    }
}

/// Removes an address (the LUID and the address are the row's key; the prefix is not).
fn remove_address(value: u64, ip: IpAddr, prefix_len: u8) -> io::Result<()> {
    let row = unicast_row(value, ip, prefix_len);
    // SAFETY: a row with its key (LUID and address) set.
    check(unsafe { DeleteUnicastIpAddressEntry(&row) })
}

/// Every unicast address of the interface, IPv4 and IPv6.
pub(crate) fn addresses(value: u64) -> io::Result<Vec<InterfaceAddress>> {
    let mut table: *mut MIB_UNICASTIPADDRESS_TABLE = std::ptr::null_mut();
    // SAFETY: a valid out pointer; the table is freed below.
    check(unsafe { GetUnicastIpAddressTable(AF_UNSPEC, &mut table) })?;
    // SAFETY: on success the table holds `NumEntries` rows, contiguous from `Table`.
    let rows = unsafe {
        std::slice::from_raw_parts(
            std::ptr::addr_of!((*table).Table).cast::<MIB_UNICASTIPADDRESS_ROW>(),
            (*table).NumEntries as usize,
        )
    };
    let found = rows
        .iter()
        // SAFETY: every member of the LUID union is a 64-bit value.
        .filter(|row| unsafe { row.InterfaceLuid.Value } == value)
        .filter_map(row_address)
        .collect();
    // SAFETY: the table came from GetUnicastIpAddressTable; `rows` is not used after this.
    unsafe { FreeMibTable(table.cast()) };
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_rows_carry_the_address_prefix_and_preferred_dad_state() {
        let v4 = unicast_row(7, Ipv4Addr::new(10, 1, 2, 3).into(), 24);
        // SAFETY: the family is the first member of every variant.
        assert_eq!(unsafe { v4.Address.si_family }, AF_INET);
        // SAFETY: an IPv4 row.
        let octets = unsafe { v4.Address.Ipv4.sin_addr.S_un.S_addr }.to_ne_bytes();
        assert_eq!(octets, [10, 1, 2, 3], "network byte order");
        // SAFETY: every member of the LUID union is a 64-bit value.
        assert_eq!(unsafe { v4.InterfaceLuid.Value }, 7);
        assert_eq!(v4.OnLinkPrefixLength, 24);
        assert_eq!(v4.DadState, IpDadStatePreferred);
        // Infinite lifetimes, so the address does not expire; origins left to the system.
        assert_eq!(v4.ValidLifetime, u32::MAX);
        assert_eq!(v4.PreferredLifetime, u32::MAX);
        assert_eq!(v4.PrefixOrigin, IpPrefixOriginUnchanged);
        assert!(!v4.SkipAsSource);
        // SAFETY: an IPv4 row.
        assert_eq!(unsafe { v4.Address.Ipv4.sin_port }, 0);

        let ip: Ipv6Addr = "fd00::1:2".parse().unwrap();
        let v6 = unicast_row(7, ip.into(), 64);
        // SAFETY: as above.
        assert_eq!(unsafe { v6.Address.si_family }, AF_INET6);
        for (row, ip, prefix_len) in [
            (&v4, IpAddr::from(Ipv4Addr::new(10, 1, 2, 3)), 24),
            (&v6, ip.into(), 64),
        ] {
            assert_eq!(row_address(row), Some(InterfaceAddress { ip, prefix_len }));
        }
    }

    #[test]
    fn mtu_rows_reset_the_site_prefix_length() {
        let mut row = MIB_IPINTERFACE_ROW {
            SitePrefixLength: 64,
            NlMtu: 1500,
            ..Default::default()
        };
        prepare_mtu_row(&mut row, 1420);
        assert_eq!((row.NlMtu, row.SitePrefixLength), (1420, 0));
    }

    #[test]
    fn an_unknown_luid_has_no_addresses_and_no_index() {
        // No interface has this LUID (an unused interface type): the listing is filtered by
        // LUID, and the lookups fail instead of reaching another interface.
        let nobody = 0x00ff_ffff_ffff_ffff;
        assert_eq!(addresses(nobody).unwrap(), []);
        assert!(index(nobody).is_err());
        // (`mtu` is not exercised here: Wine 8 lacks GetIpInterfaceEntry.)
    }
}
