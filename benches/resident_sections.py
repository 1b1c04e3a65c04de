#!/usr/bin/env python3
"""Where a running binary's resident pages are, by ELF section, and how many of its code's
64 KiB windows are touched (the kernel's fault-around maps a fault's whole window):

    python3 benches/resident_sections.py PID BINARY

Reads /proc/PID/maps and /proc/PID/pagemap (the present bit; root or the process's owner)
and `readelf -SW BINARY`. docs/performance.md ("Memory") has what it showed for an idle agent.
"""
import collections
import struct
import subprocess
import sys


def sections(binary):
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    secs = []
    for line in out.splitlines():
        if line.strip().startswith("[") and "]" in line:
            p = line.split("]", 1)[1].split()
            if len(p) >= 5 and p[0].startswith("."):
                addr, size = int(p[2], 16), int(p[4], 16)
                if addr:
                    secs.append((addr, addr + size, p[0]))
    return secs


def mappings(pid, binary):
    maps = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 6 and p[5] == binary:
                a, b = (int(x, 16) for x in p[0].split("-"))
                maps.append((a, b, int(p[2], 16), p[1]))
    return maps


def main():
    pid, binary = int(sys.argv[1]), sys.argv[2]
    secs = sections(binary)
    maps = mappings(pid, binary)
    if not maps:
        sys.exit("%s is not mapped by process %d" % (binary, pid))
    base = min(a - off for a, _, off, _ in maps)
    res, tot = collections.Counter(), collections.Counter()
    windows = collections.defaultdict(list)
    with open("/proc/%d/pagemap" % pid, "rb") as pm:
        for a, b, _, perm in maps:
            pm.seek(a // 4096 * 8)
            data = pm.read((b - a) // 4096 * 8)
            for i in range(0, len(data), 8):
                present = (struct.unpack("<Q", data[i:i + 8])[0] >> 63) & 1
                va = a + i // 8 * 4096
                rel = va - base
                name = next((n for s, e, n in secs if s <= rel < e or rel <= s < rel + 4096), "?")
                tot[name] += 4
                res[name] += 4 * present
                if "x" in perm:
                    windows[va // 65536].append(present)
    for name, kib in sorted(res.items(), key=lambda x: -x[1]):
        if kib:
            print("%8d / %8d KiB %s" % (kib, tot[name], name))
    touched = [w for w in windows.values() if any(w)]
    print("code windows (64 KiB): %d touched of %d, %d of them wholly resident"
          % (len(touched), len(windows), sum(all(w) for w in touched)))


if __name__ == "__main__":
    main()
