//! What the platform layer receives to create a device: how to open it, nothing about its
//! settings (the builder applies those through the run-time setters afterwards).

/// Whether a device carries IP packets (TUN) or Ethernet frames (TAP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Layer {
    /// Layer 3: every packet is an IPv4 or IPv6 packet.
    #[default]
    Tun,
    /// Layer 2: every packet is an Ethernet frame.
    Tap,
}

impl Layer {
    /// The bytes in front of the IP packet in what `recv` returns, without packet information:
    /// 0 for TUN, 14 (the Ethernet header) for TAP. Add 4 for a VLAN tag on TAP.
    pub fn header_len(self) -> usize {
        match self {
            Layer::Tun => 0,
            Layer::Tap => 14,
        }
    }
}

/// How to open a device: `sys::create`'s whole input.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Empty (the kernel picks), a `%d` pattern, or an exact name; checked already.
    pub(crate) name: String,
    pub(crate) layer: Layer,
    /// The kernel's packet information header, where the platform has one.
    #[cfg(tun_packet_info)]
    pub(crate) packet_info: bool,
    /// How many queues to open.
    #[cfg(tun_multi_queue)]
    pub(crate) queues: usize,
    /// Multi-queue even with one queue, so that more can be added later.
    #[cfg(tun_multi_queue)]
    pub(crate) multi_queue: bool,
    pub(crate) close_on_exec: bool,
    pub(crate) nonblocking: bool,
    /// Segmentation and checksum offload with the virtio header (Linux TUN).
    #[cfg(tun_offload)]
    pub(crate) offload: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            name: String::new(),
            layer: Layer::Tun,
            #[cfg(tun_packet_info)]
            packet_info: false,
            #[cfg(tun_multi_queue)]
            queues: 1,
            #[cfg(tun_multi_queue)]
            multi_queue: false,
            close_on_exec: true,
            nonblocking: false,
            #[cfg(tun_offload)]
            offload: false,
        }
    }
}
