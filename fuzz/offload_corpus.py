#!/usr/bin/env python3
"""Writes the seed corpus of the offload fuzz targets (offload_split, offload_coalesce).

    python3 fuzz/offload_corpus.py fuzz/corpus

Deterministic: the same files every run. Packets are built here with their own checksums, so
the seeds start the fuzzer on inputs that pass the parsers' checks and reach the segment writer
and the merge rules. The virtio header is written little-endian (the hosts CI runs on).
"""
import os
import random
import struct
import sys

NEEDS_CSUM = 1
GSO_NONE, GSO_TCPV4, GSO_UDP, GSO_TCPV6, GSO_UDP_L4, GSO_ECN = 0, 1, 3, 4, 5, 0x80


def csum_sum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def packet(v6, tcp, payload, seq=1000, flags=0x10, ip_options=b"", tcp_options=b"\x01\x01\x08\x0a" + bytes(8), ident=7):
    proto = 6 if tcp else 17
    if tcp:
        l4 = struct.pack("!HHIIBBHHH", 40000, 443, seq, 5000, (5 + len(tcp_options) // 4) << 4, flags, 502, 0, 0)
        l4 += tcp_options
    else:
        l4 = struct.pack("!HHHH", 40000, 443, 8 + len(payload), 0)
    l4 += payload
    if v6:
        src, dst = bytes(15) + b"\x01", bytes(15) + b"\x02"
        ip = struct.pack("!IHBB", 0x60012345, len(l4), proto, 64) + src + dst
        pseudo = src + dst + struct.pack("!IxxxB", len(l4), proto)
    else:
        src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
        ihl = 5 + len(ip_options) // 4
        ip = struct.pack("!BBHHHBBH", 0x40 | ihl, 0, ihl * 4 + len(l4), ident, 0x4000, 64, proto, 0) + src + dst + ip_options
        ip = ip[:10] + struct.pack("!H", 0xFFFF ^ csum_sum(ip)) + ip[12:]
        pseudo = src + dst + struct.pack("!xBH", proto, len(l4))
    at = 16 if tcp else 6
    check = 0xFFFF ^ csum_sum(pseudo + l4)
    if check == 0 and not tcp:
        check = 0xFFFF
    l4 = l4[:at] + struct.pack("!H", check) + l4[at + 2 :]
    return ip + l4, len(ip), pseudo


def partial(pkt, ip_len, tcp, pseudo):
    """The packet as the kernel hands it out with NEEDS_CSUM: the pseudo-header sum in the field."""
    at = ip_len + (16 if tcp else 6)
    return pkt[:at] + struct.pack("!H", csum_sum(pseudo)) + pkt[at + 2 :]


def vnet(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset):
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def split_seeds():
    rng = random.Random(1)
    data = bytes(rng.randrange(256) for _ in range(700))
    seeds = {}
    for name, v6, tcp, gso_type in [
        ("tcp4", False, True, GSO_TCPV4),
        ("tcp6", True, True, GSO_TCPV6),
        ("udp4", False, False, GSO_UDP_L4),
        ("udp6", True, False, GSO_UDP_L4),
    ]:
        pkt, ip_len, pseudo = packet(v6, tcp, data, flags=0x18 | 0x01)
        hdr_len = len(pkt) - len(data)
        body = partial(pkt, ip_len, tcp, pseudo)
        seeds["gso-" + name] = vnet(NEEDS_CSUM, gso_type, hdr_len, 200, ip_len, 16 if tcp else 6) + body
        seeds["none-" + name] = vnet(NEEDS_CSUM, GSO_NONE, 0, 0, ip_len, 16 if tcp else 6) + body
    pkt, ip_len, pseudo = packet(False, True, data[:300], flags=0x90, ip_options=b"\x01" * 8)
    seeds["gso-tcp4-ecn-ip-options"] = vnet(NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, 0, 1, ip_len, 16) + partial(pkt, ip_len, True, pseudo)
    pkt, ip_len, _ = packet(False, True, data[:100])
    seeds["plain"] = bytes(10) + pkt
    seeds["edge-gso-size-zero"] = vnet(NEEDS_CSUM, GSO_TCPV4, 0, 0, ip_len, 16) + pkt
    seeds["edge-ufo"] = vnet(NEEDS_CSUM, GSO_UDP, 0, 100, ip_len, 6) + pkt
    seeds["edge-short"] = vnet(NEEDS_CSUM, GSO_TCPV4, 0, 100, 20, 16) + pkt[:30]
    seeds["edge-csum-past-end"] = vnet(NEEDS_CSUM, GSO_NONE, 0, 0, len(pkt) - 1, 16) + pkt
    return seeds


def coalesce_seeds():
    rng = random.Random(2)
    seeds = {}
    # Generator mode (bit 2 clear): the bytes are choices; TCP and UDP on (bits 0, 1).
    for i in range(4):
        seeds["generated-%d" % i] = bytes([3]) + bytes(rng.randrange(256) for _ in range(400))
    # Raw mode: one flow of consecutive TCP segments, and one of UDP datagrams, each behind a
    # one-byte length.
    raw = bytearray([7])
    for i in range(4):
        pkt, _, _ = packet(False, True, bytes([i]) * 100, seq=1000 + 100 * i, ident=7 + i, flags=0x18 if i == 3 else 0x10)
        raw += bytes([len(pkt)]) + pkt
    for i in range(3):
        pkt, _, _ = packet(True, False, bytes([i]) * 60)
        raw += bytes([len(pkt)]) + pkt
    seeds["raw-tcp4-udp6"] = bytes(raw)
    return seeds


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus"
    for target, seeds in [("offload_split", split_seeds()), ("offload_coalesce", coalesce_seeds())]:
        os.makedirs(os.path.join(root, target), exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(root, target, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
