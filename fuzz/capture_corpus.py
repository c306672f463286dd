#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: real rtnetlink answers about a TUN and a TAP
device, captured from the running kernel, plus hand-made edge cases and interface names.

Run as root in a network namespace of its own, so that the host's interfaces are untouched and
the answers are the same on every machine (but for the kernel's counters and timestamps):

    unshare -n python3 fuzz/capture_corpus.py fuzz/corpus

The requests are the ones tun-core sends (`tun-core/src/sys/linux/netlink.rs`).
"""
import os
import socket
import struct
import subprocess
import sys

NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP = 1, 2, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR, RTM_GETADDR = 16, 18, 20, 22
IFLA_LINKINFO = 18
NLA_F_NESTED, NLA_F_NET_BYTEORDER = 0x8000, 0x4000


def sh(command):
    subprocess.run(command, shell=True, check=True)


def header(length, kind, flags, seq):
    return struct.pack("=IHHII", length, kind, flags, seq, 0)


def message(kind, flags, seq, payload):
    padded = payload + bytes(-len(payload) % 4)
    return header(16 + len(payload), kind, flags, seq) + padded


def attribute(kind, payload):
    return struct.pack("=HH", 4 + len(payload), kind) + payload + bytes(-len(payload) % 4)


def messages(datagram):
    """(type, payload) of each message in a datagram."""
    offset = 0
    while offset + 16 <= len(datagram):
        length, kind = struct.unpack_from("=IH", datagram, offset)
        yield kind, datagram[offset + 16 : offset + length]
        offset += (length + 3) & ~3


def attributes(run):
    """(type without flags, payload) of each attribute in a run."""
    offset = 0
    while offset + 4 <= len(run):
        length, kind = struct.unpack_from("=HH", run, offset)
        if length < 4:
            return
        yield kind & 0x3FFF, run[offset + 4 : offset + length]
        offset += (length + 3) & ~3


class Corpus:
    def __init__(self, root):
        self.root = root

    def save(self, target, name, data):
        os.makedirs(os.path.join(self.root, target), exist_ok=True)
        with open(os.path.join(self.root, target, name), "wb") as f:
            f.write(data)
        print(f"{target}/{name}: {len(data)} bytes")


def capture(corpus):
    sh("ip link set lo up")
    # A single-queue TUN with a plain, a point-to-point and an IPv6 address...
    sh("ip tuntap add dev tun0 mode tun")
    sh("ip addr add 10.0.0.1/24 dev tun0")
    sh("ip addr add 10.1.0.1 peer 10.1.0.2/32 dev tun0")
    sh("ip addr add fd00::1/64 dev tun0")
    sh("ip link set tun0 up")
    # ...and a multi-queue TAP with the packet information header, an owner and a group.
    sh("ip tuntap add dev tap0 mode tap multi_queue pi user 1000 group 1000")
    sh("ip addr add 192.168.7.1/24 dev tap0")

    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.settimeout(2)

    def query(kind, flags, body, seq):
        """Sends one request; returns the datagrams of its answer."""
        sock.send(header(16 + len(body), kind, NLM_F_REQUEST | flags, seq) + body)
        datagrams = []
        while True:
            datagram = sock.recv(65536)
            datagrams.append(datagram)
            for answer_kind, _ in messages(datagram):
                if answer_kind in (NLMSG_ERROR, NLMSG_DONE):
                    return datagrams
            if not flags & NLM_F_DUMP:
                return datagrams

    # Every address (struct ifaddrmsg, AF_UNSPEC): the dump, then its NLMSG_DONE.
    datagrams = query(RTM_GETADDR, NLM_F_DUMP, bytes(8), 1)
    for i, datagram in enumerate(datagrams):
        corpus.save("netlink_datagram", f"getaddr-dump-{i}", datagram)
    answers = [p for d in datagrams for kind, p in messages(d) if kind == RTM_NEWADDR]
    for i, payload in enumerate(answers):
        family, _, _, _, index = struct.unpack_from("=BBBBI", payload)
        name = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}.get(family, str(family))
        corpus.save("netlink_address", f"newaddr-{i}-{name}-if{index}", payload)

    # The tun driver's details of each device (struct ifinfomsg with the index).
    for seq, name in ((2, "tun0"), (3, "tap0")):
        body = struct.pack("=BxHiII", 0, 0, socket.if_nametoindex(name), 0, 0)
        for datagram in query(RTM_GETLINK, 0, body, seq):
            corpus.save("netlink_datagram", f"getlink-{name}", datagram)
            for kind, payload in messages(datagram):
                if kind != RTM_NEWLINK:
                    continue
                corpus.save("netlink_tun_info", f"newlink-{name}", payload)
                corpus.save("netlink_attributes", f"ifla-{name}", payload[16:])
                for attribute_kind, nested in attributes(payload[16:]):
                    if attribute_kind == IFLA_LINKINFO:
                        corpus.save("netlink_attributes", f"linkinfo-{name}", nested)

    # An index that does not exist: NLMSG_ERROR with -ENODEV.
    body = struct.pack("=BxHiII", 0, 0, 99999, 0, 0)
    corpus.save("netlink_datagram", "getlink-enodev", query(RTM_GETLINK, 0, body, 4)[0])


def hand_made(corpus):
    """What the kernel sends rarely or never, but a parser must survive."""
    seq = 7
    ifaddr_v4 = struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 2)
    ifaddr_v6 = struct.pack("=BBBBI", socket.AF_INET6, 64, 0, 0, 2)
    new_addr = message(RTM_NEWADDR, NLM_F_MULTI, seq, ifaddr_v4 + attribute(2, bytes([10, 0, 0, 1])))
    datagrams = {
        # A bare acknowledgement: error code 0, then the request's header.
        "edge-ack": message(NLMSG_ERROR, 0, seq, struct.pack("=i", 0) + header(24, 22, 0x301, seq)),
        # An answer, a stale message of an abandoned query, and the end of the dump.
        "edge-stale-between": new_addr
        + message(RTM_NEWADDR, NLM_F_MULTI, seq - 1, ifaddr_v4)
        + message(NLMSG_DONE, NLM_F_MULTI, seq, struct.pack("=i", 0)),
        # A length shorter than the header itself, and one far past the end.
        "edge-length-below-header": header(4, RTM_NEWADDR, 0, seq) + bytes(8),
        "edge-length-past-end": header(0xFFFFFFFF, RTM_NEWADDR, 0, seq) + ifaddr_v4,
        # An error message too short to hold its code.
        "edge-error-without-code": header(18, NLMSG_ERROR, 0, seq) + bytes(2),
    }
    for name, data in datagrams.items():
        corpus.save("netlink_datagram", name, data)

    addresses = {
        # Only IFA_ADDRESS, its type carrying both flag bits the parser masks off.
        "edge-ipv6-flagged-address-only": ifaddr_v6
        + attribute(1 | NLA_F_NESTED | NLA_F_NET_BYTEORDER, bytes(15) + b"\x01"),
        # An IPv4 attribute of IPv6 size (skipped), then a truncated attribute.
        "edge-wrong-size-then-truncated": ifaddr_v4
        + attribute(2, bytes(16))
        + struct.pack("=HH", 8, 2)
        + bytes(2),
        # Shorter than struct ifaddrmsg.
        "edge-short-ifaddrmsg": ifaddr_v4[:5],
    }
    for name, data in addresses.items():
        corpus.save("netlink_address", name, data)

    # IFLA_LINKINFO and IFLA_INFO_DATA marked nested; a 2-byte owner (too short for a u32).
    tun_data = attribute(8, struct.pack("=I", 4)) + attribute(1, b"\xe8\x03")
    link_info = attribute(1, b"tun\0") + attribute(2 | NLA_F_NESTED, tun_data)
    corpus.save(
        "netlink_tun_info",
        "edge-nested-flags-short-owner",
        bytes(16) + attribute(IFLA_LINKINFO | NLA_F_NESTED, link_info),
    )

    runs = {
        "edge-zero-length": struct.pack("=HH", 0, 1) + bytes(4),
        # A 5-byte attribute padded to 8, then another.
        "edge-unaligned": attribute(3, b"x") + attribute(4, bytes(4)),
    }
    for name, data in runs.items():
        corpus.save("netlink_attributes", name, data)

    names = {
        "tun0": b"tun0",
        "pattern": b"tun%d",
        "15-bytes": b"exactly15bytes_",
        "16-bytes": b"sixteen_bytes_xx",
        # 14 ASCII bytes and a 2-byte character: 16 bytes, a char boundary past the limit.
        "multibyte-over-limit": "abcdefghijklmné".encode(),
        "multibyte": "tüñ0".encode(),
        "dot": b".",
        "dotdot": b"..",
        "space": b"a b",
        "no-break-space": "a\u00a0b".encode(),
        "colon": b"a:b",
        "slash": b"a/b",
        "nul": b"nul\0",
        "bad-pattern": b"%s",
        "two-patterns": b"t%d%d",
        "not-utf8": b"tun\xff\xfe",
    }
    for name, data in names.items():
        corpus.save("interface_name", name, data)


if __name__ == "__main__":
    corpus = Corpus(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus")
    capture(corpus)
    hand_made(corpus)
