#!/usr/bin/env python3
"""Turns bench/run.sh results into markdown tables.

usage: summarize.py RESULTS.tsv DOCS_PATH [key=value ...]

RESULTS.tsv has lines "round<TAB>variant<TAB>metric<TAB>value". Prints the
tables on stdout; writes DOCS_PATH (unless it is empty) with the tables, the
machine, the kernel and the date.
"""

import datetime
import os
import platform
import statistics
import subprocess
import sys
from collections import defaultdict

OURS = ["core", "tokio-ct", "tokio-mt", "async-std", "tokio-batch", "core-offload", "tokio-offload",
        "async-std-offload"]
PEERS = ["tokio-tun", "tokio-tun-mt", "tun-rs", "tun-rs-offload"]
VARIANT_DESC = {
    "raw": "libc open+TUNSETIFF, blocking read/write, thread per direction (floor)",
    "core": "tun-core blocking, thread per direction",
    "tokio-ct": "tun-tokio, current-thread runtime, task per direction",
    "tokio-mt": "tun-tokio, multi-thread runtime, task per direction",
    "async-std": "tun-async-std, task per direction",
    "tokio-tun": "tokio-tun 0.16, current-thread runtime, task per direction",
    "tokio-tun-mt": "tokio-tun 0.16, multi-thread runtime, task per direction",
    "tun-rs": "tun-rs 2.x AsyncDevice (tokio), no offload, current-thread runtime",
    "tokio-batch": "tun-tokio without offload, recv_batch -> look -> send_batch, multi-thread runtime",
    "core-offload": "tun-core with offload, blocking recv_batch -> look -> send_batch, thread per direction",
    "tokio-offload": "tun-tokio with offload, recv_batch -> look -> send_batch, multi-thread runtime",
    "async-std-offload": "tun-async-std with offload, recv_batch -> look -> send_batch",
    "tun-rs-offload": "tun-rs 2.x with offload, recv_multiple -> look -> send_multiple (GROTable), multi-thread runtime",
    "tun-rs-passthrough": "tun-rs 2.x with offload, super-packets forwarded unsplit (the ceiling; no per-packet look), multi-thread runtime",
}

# Everything of the docs page from this line on is kept when the page is rewritten.
NOTES_MARKER = "<!-- notes below are kept by bench/summarize.py -->"

# metric: (column title, higher is better, decimals)
METRICS = {
    "tcp_gbps": ("TCP Gbit/s", True, 2),
    "tcp_retr": ("TCP retr", False, 0),
    "udp_kpps": ("UDP-64 kpps", True, 0),
    "udp_loss": ("UDP-64 loss %", False, 1),
    "flood_kpps": ("flood-64 kpps", True, 0),
    "cpu_ns": ("CPU ns/pkt", False, 0),
    "rss_mib": ("peak RSS MiB", False, 1),
    "flood_busy": ("relay busy in flood %", False, 0),
}
RATIO_METRICS = ["tcp_gbps", "udp_kpps", "flood_kpps", "cpu_ns", "rss_mib"]


def load(path):
    data = defaultdict(lambda: defaultdict(list))
    per_pkt = defaultdict(lambda: defaultdict(list))
    order = []
    with open(path) as f:
        for line in f:
            _round, variant, metric, value = line.rstrip("\n").split("\t")
            if variant not in order:
                order.append(variant)
            if metric.startswith("per_pkt:"):
                per_pkt[variant][metric[len("per_pkt:"):]].append(float(value))
                continue
            if metric == "flood_util":
                metric, value = "flood_busy", float(value) * 100
            data[variant][metric].append(float(value))
    return data, order, per_pkt


def fmt(x, dec):
    return f"{x:,.{dec}f}" if dec else f"{x:,.0f}"


def cell(values, dec):
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med, dec)
    return f"{fmt(med, dec)} ({fmt(min(values), dec)}..{fmt(max(values), dec)})"


def med(data, v, m):
    vals = data.get(v, {}).get(m)
    return statistics.median(vals) if vals else None


def tables(data, order):
    out = []
    cols = list(METRICS)
    out.append("| variant | " + " | ".join(METRICS[m][0] for m in cols) + " |")
    out.append("|---|" + "---:|" * len(cols))
    for v in order:
        cells = [cell(data[v][m], METRICS[m][2]) if data[v].get(m) else "-" for m in cols]
        out.append(f"| {v} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Medians over the rounds, (min..max) in brackets.")
    out.append("")
    busy = [(v, i + 1, b) for v in order for i, b in enumerate(data[v].get("flood_busy", [])) if b < 90]
    if busy:
        out.append("Rounds in which the relay had its CPU less than 90 % of the flood window "
                   "(other load on the machine; their flood and CPU numbers are suspect): "
                   + ", ".join(f"{v} round {r} ({b:.0f} %)" for v, r, b in busy) + ".")
        out.append("")
    if "raw" in data:
        out.append("Ratio of medians against `raw` in the same run "
                   "(higher is better for throughput, lower for CPU and RSS):")
        out.append("")
        out.append("| variant | " + " | ".join(METRICS[m][0] for m in RATIO_METRICS) + " |")
        out.append("|---|" + "---:|" * len(RATIO_METRICS))
        for v in order:
            cells = []
            for m in RATIO_METRICS:
                a, b = med(data, v, m), med(data, "raw", m)
                cells.append(f"{a / b:.3f}x" if a is not None and b else "-")
            out.append(f"| {v} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def targets(data):
    out = []
    if "raw" not in data:
        return out
    checks = [
        ("flood_kpps", ">=", 0.97), ("tcp_gbps", ">=", 1.00), ("cpu_ns", "<=", 1.05),
    ]
    out.append("Targets (medians, same run):")
    out.append("")
    for v in OURS:
        if v not in data:
            continue
        parts = []
        for m, op, lim in checks:
            a, b = med(data, v, m), med(data, "raw", m)
            if a is None or not b:
                continue
            r = a / b
            ok = r >= lim if op == ">=" else r <= lim
            parts.append(f"{METRICS[m][0]} {r:.3f}x raw ({op} {lim:.2f}: {'met' if ok else 'MISSED'})")
        peers = [p for p in PEERS if p in data]
        for m in ("tcp_gbps", "udp_kpps", "flood_kpps", "cpu_ns"):
            hib = METRICS[m][1]
            a = med(data, v, m)
            behind = [p for p in peers if (med(data, p, m) is not None and a is not None)
                      and ((a <= med(data, p, m)) if hib else (a >= med(data, p, m)))]
            if peers:
                parts.append(f"{METRICS[m][0]} vs peers: " + ("ahead" if not behind else "BEHIND " + ", ".join(behind)))
        out.append(f"- **{v}**: " + "; ".join(parts))
    out.append("")
    return out


def event_table(per_pkt, order):
    """The PERF_STAT counts of the flood windows, per relayed packet (medians)."""
    events = []
    for v in order:
        for e in per_pkt.get(v, {}):
            if e not in events:
                events.append(e)
    if not events:
        return []
    out = ["Events per relayed packet over the flood window (`perf stat`, medians):", ""]
    out.append("| variant | " + " | ".join(events) + " |")
    out.append("|---|" + "---:|" * len(events))
    for v in order:
        cells = []
        for e in events:
            vals = per_pkt.get(v, {}).get(e)
            cells.append(f"{statistics.median(vals):.4g}" if vals else "-")
        out.append(f"| {v} | " + " | ".join(cells) + " |")
    out.append("")
    return out


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu, os.cpu_count(), platform.release()


def main():
    results, docs = sys.argv[1], sys.argv[2]
    params = dict(a.split("=", 1) for a in sys.argv[3:])
    data, order, per_pkt = load(results)
    body = tables(data, order) + targets(data) + event_table(per_pkt, order)
    print("\n".join(body))
    if not docs:
        return
    cpu, ncpu, kernel = machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        rev = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "unknown"
    doc = [
        "# Relay performance",
        "",
        "Written by `bench/run.sh` (see [bench/README.md](../bench/README.md)); "
        "rerun it to refresh this page.",
        "",
        f"- date: {now}",
        f"- machine: {ncpu} CPUs, {cpu}",
        f"- kernel: {kernel}",
        f"- commit: {rev}",
        f"- rounds: {params.get('rounds')}, iperf3 duration {params.get('duration')} s, "
        f"flood window {params.get('flood_secs')} s",
        "",
        "A relay process creates two TUN devices; one is moved into network namespace A "
        f"(`{os.environ.get('NET', '10.77.0')}.1/24`), the other into namespace B (`.2/24`), so every "
        "packet between A and B is read from one device and written into the other by the relay. "
        "Variants run interleaved, round by round.",
        "",
        "- **TCP**: iperf3, one stream A to B; Gbit/s received, retransmits.",
        "- **UDP-64**: iperf3 `-u -l 64 -b 0`; datagrams received per second, loss.",
        "- **flood-64**: 64-byte UDP datagrams from a `sendmmsg` generator in A to a socket in B that "
        "never reads; datagrams the relay delivered to B's UDP layer (InDatagrams + RcvbufErrors) per second.",
        "- **CPU ns/pkt**: relay utime+stime over the flood window / packets relayed.",
        "- **peak RSS**: relay VmHWM.",
        "- **relay busy in flood**: relay CPU time / wall time over the flood window; well under "
        "100 % means the relay was kept off its CPU (other load) and its flood-64 kpps is low for that.",
        "",
        f"Load average at start / end: {params.get('load_start')} / {params.get('load_end')}. "
        f"Niceness {params.get('nice')}; "
        + ("during the flood the generator is pinned to CPU 0 and the relay to the other CPUs."
           if params.get('pin') == '1' else "no CPU pinning."),
        "",
        "Variants:",
        "",
    ]
    doc += [f"- `{v}`: {VARIANT_DESC.get(v, v)}" for v in order]
    doc += [""] + body
    # Hand-written analysis below the marker survives a rerun.
    kept = ""
    try:
        with open(docs) as f:
            old = f.read()
        if NOTES_MARKER in old:
            kept = old[old.index(NOTES_MARKER):]
    except OSError:
        pass
    with open(docs, "w") as f:
        f.write("\n".join(doc) + "\n")
        if kept:
            f.write("\n" + kept)
    print(f"wrote {docs}", file=sys.stderr)


if __name__ == "__main__":
    main()
