//! The interface settings of a utun: the BSD layer's ioctls (`sys/bsd/interface.rs`), plus
//! what differs here: the network route of each address (`route.rs`, through `PF_ROUTE`), the
//! simulated MAC of a TAP device, and on iOS, settings that belong to the system.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use super::route::{self, Change};
use crate::net::InterfaceAddress;
use crate::sys::bsd::{self, control};
use crate::sys::ethernet_sim::EthernetSim;
use crate::sys::unix::cvt;

/// Who configures the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // each platform makes one: `Us` on macOS, `System` on iOS
pub(crate) enum Owner {
    /// This process: the settings work (macOS, root).
    Us,
    /// iOS's Network Extension: setters fail with a pointer to `NEPacketTunnelNetworkSettings`.
    System,
}

/// The handle for a utun's settings.
#[derive(Debug)]
pub(crate) struct Interface {
    inner: bsd::Interface,
    ethernet: Option<Arc<EthernetSim>>,
    owner: Owner,
    /// The sequence number of the next routing message.
    seq: AtomicI32,
}

impl Interface {
    /// Binds to the utun now called `name`; `ethernet` is a simulated TAP's state.
    pub(crate) fn new(
        name: String,
        ethernet: Option<Arc<EthernetSim>>,
        owner: Owner,
    ) -> io::Result<Interface> {
        Ok(Interface {
            inner: bsd::Interface::new(name)?,
            ethernet,
            owner,
            seq: AtomicI32::new(1),
        })
    }

    /// Fails if the system owns the settings (iOS).
    fn ours(&self) -> io::Result<()> {
        match self.owner {
            Owner::Us => Ok(()),
            Owner::System => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the system configures this tunnel interface (iOS): set its MTU, addresses and \
                 routes with NEPacketTunnelNetworkSettings in the packet tunnel provider \
                 (setTunnelNetworkSettings)",
            )),
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.inner.name()
    }

    pub(crate) fn index(&self) -> io::Result<u32> {
        self.inner.index()
    }

    pub(crate) fn mtu(&self) -> io::Result<u32> {
        self.inner.mtu()
    }

    pub(crate) fn set_mtu(&self, mtu: u32) -> io::Result<()> {
        self.ours()?;
        self.inner.set_mtu(mtu)
    }

    pub(crate) fn is_up(&self) -> io::Result<bool> {
        self.inner.is_up()
    }

    pub(crate) fn set_up(&self, up: bool) -> io::Result<()> {
        self.ours()?;
        self.inner.set_up(up)
    }

    fn ethernet(&self) -> io::Result<&EthernetSim> {
        self.ethernet.as_deref().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "a TUN device has no MAC address",
            )
        })
    }

    /// The simulated TAP device's MAC (a utun has none of its own).
    pub(crate) fn mac(&self) -> io::Result<[u8; 6]> {
        Ok(self.ethernet()?.mac())
    }

    pub(crate) fn set_mac(&self, mac: [u8; 6]) -> io::Result<()> {
        self.ethernet()?.set_mac(mac);
        Ok(())
    }

    /// The frames a simulated TAP device dropped.
    pub(crate) fn dropped_frames(&self) -> io::Result<u64> {
        Ok(self.ethernet()?.dropped())
    }

    /// Adds the address (`SIOCAIFADDR`, which gives a host route only on a point-to-point
    /// utun), then its network's route.
    pub(crate) fn add_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        self.ours()?;
        self.inner.add_ipv4(address, prefix_len)?;
        self.route(Change::Add, IpAddr::V4(address), prefix_len)
            .inspect_err(|_| {
                // All or nothing: an address without its route is the bug this avoids.
                let _ = self.inner.remove_ipv4(address, prefix_len);
            })
    }

    /// Removes the address, and its network's route.
    pub(crate) fn remove_ipv4(&self, address: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        self.ours()?;
        self.inner.remove_ipv4(address, prefix_len)?;
        self.route(Change::Delete, IpAddr::V4(address), prefix_len)
    }

    /// Adds the address (`SIOCAIFADDR_IN6`: no DAD, infinite lifetimes), then its network's
    /// route.
    pub(crate) fn add_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
        self.ours()?;
        self.inner.add_ipv6(address, prefix_len)?;
        self.route(Change::Add, IpAddr::V6(address), prefix_len)
            .inspect_err(|_| {
                let _ = self.inner.remove_ipv6(address, prefix_len);
            })
    }

    pub(crate) fn remove_ipv6(&self, address: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
        self.ours()?;
        self.inner.remove_ipv6(address, prefix_len)?;
        self.route(Change::Delete, IpAddr::V6(address), prefix_len)
    }

    pub(crate) fn addresses(&self) -> io::Result<Vec<InterfaceAddress>> {
        self.inner.addresses()
    }

    /// Adds or deletes the route of the network of `address/prefix_len` through this
    /// interface. A route that is there already (added by the kernel or for another address of
    /// the network) counts as added, one that is gone as deleted.
    fn route(&self, change: Change, address: IpAddr, prefix_len: u8) -> io::Result<()> {
        let Some((network, prefix_len)) = route::network(address, prefix_len) else {
            return Ok(());
        };
        if change == Change::Delete && self.network_in_use(network, prefix_len) {
            // Another address of the interface is in the same network and still needs it.
            return Ok(());
        }
        let index = u16::try_from(self.inner.bound_index())
            .map_err(|_| io::Error::from_raw_os_error(libc::ENXIO))?;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let message = route::message(change, network, prefix_len, index, seq);
        match (change, write_route_message(&message)) {
            (_, Ok(())) => Ok(()),
            (Change::Add, Err(err)) if err.raw_os_error() == Some(libc::EEXIST) => Ok(()),
            (Change::Delete, Err(err)) if err.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            (_, Err(err)) => Err(err),
        }
    }
}

impl Interface {
    /// Whether an address of the interface now is in `network/prefix_len` (a failed listing
    /// counts as no: the route then goes with the address, as it came).
    fn network_in_use(&self, network: IpAddr, prefix_len: u8) -> bool {
        self.inner.addresses().is_ok_and(|addresses| {
            addresses.iter().any(|address| {
                route::network(address.ip, address.prefix_len) == Some((network, prefix_len))
            })
        })
    }
}

/// Writes one message to a fresh routing socket; the kernel answers a refusal as the write's
/// error. The socket is closed at once, so the echoes of routing changes never pile up in it.
fn write_route_message(message: &[u8]) -> io::Result<()> {
    let socket: OwnedFd = control::cloexec_socket(libc::PF_ROUTE, libc::SOCK_RAW, 0)?;
    // SAFETY: `message` is valid for reads of its length for the duration of the call.
    let written =
        cvt(unsafe { libc::write(socket.as_raw_fd(), message.as_ptr().cast(), message.len()) })?;
    if written as usize != message.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!(
                "the routing socket took {written} of the {} bytes of a route message",
                message.len()
            ),
        ));
    }
    Ok(())
}
