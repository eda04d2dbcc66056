#!/usr/bin/python3
"""interop/libreswan/early.py: decides which lost datagrams of a scenario
are Libreswan 4.10's early switch as Child rekey responder (DESIGN.md
section 7), from the kernel's timeline, so the scenario can allow exactly
those and fail on any other loss.

  early.py --rekeyd-log FILE --xfrm-monitor FILE --kernel-early N
           --lost-at T1,T2,...

Libreswan, as responder of a Child rekey, sends on its new outbound SA right
after its CREATE_CHILD_SA response. rekeyd (initiator) can install the
matching inbound SA only once it has processed that response (the keys
depend on the responder's nonce), so an ESP packet the peer sends in
between reaches a kernel with no usable SA for its SPI and is dropped. A lost
datagram counts as explained when BOTH hold:
  - the left kernel counted at least that many such drops (XfrmInNoStates +
    XfrmInStateInvalid grew by --kernel-early during the traffic), and
  - the datagram was sent at most 1 s before the left kernel got the inbound
    SA of a Child rekey rekeyd initiated (time from `ip -ts xfrm monitor`;
    which SPIs rekeyd created as initiator from its log: a CREATE_CHILD_SA
    response followed by "CREATING -> INSTALLED").
Prints one line per lost datagram and a last line
"explained=N unexplained=M kernel_early=E". Reads files only; never exits
non-zero on a loss (the scenario decides).
"""
import argparse
import datetime
import re
import sys

WINDOW_S = 1.0  # a request's echo crosses the tunnel well within this


def rekeyd_initiated_spis(path):
    """{inbound SPI (int): "HH:MM:SS.mmm" rekeyd received the response} of
    the Child SAs rekeyd created from a CREATE_CHILD_SA response."""
    spis = {}
    response_at = None
    inst = re.compile(r"Child SA ([0-9a-f]{8})/[0-9a-f]{8} \([^)]*\): CREATING -> INSTALLED")
    with open(path, errors="replace") as f:
        for line in f:
            if "received CREATE_CHILD_SA response" in line:
                response_at = line.split()[0]
                continue
            m = inst.search(line)
            if m and response_at:
                spis[int(m.group(1), 16)] = response_at
                response_at = None
            elif "received " in line:
                response_at = None
    return spis


def kernel_installs(path):
    """{spi: first time (epoch s) the monitor showed a keyed SA with it}."""
    out = {}
    ts_re = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\]")
    spi_re = re.compile(r"proto esp spi (0x[0-9a-f]+)")
    now = None
    with open(path, errors="replace") as f:
        for line in f:
            m = ts_re.match(line)
            if m:
                now = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()
            if line.lstrip("[0-9-T:.] ").startswith("Deleted"):
                now_deleted = True
            else:
                now_deleted = False
            m = spi_re.search(line)
            if m and now is not None and not now_deleted:
                out.setdefault(int(m.group(1), 16), now)
    return out


def clock(t):
    """Epoch seconds as the local HH:MM:SS.mmm the daemon logs use."""
    return datetime.datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rekeyd-log", required=True)
    ap.add_argument("--xfrm-monitor", required=True)
    ap.add_argument("--kernel-early", type=int, required=True)
    ap.add_argument("--lost-at", default="")
    a = ap.parse_args()
    lost = [float(t) for t in a.lost_at.split(",") if t.strip()]
    spis = rekeyd_initiated_spis(a.rekeyd_log)
    installs = kernel_installs(a.xfrm_monitor)
    times = sorted((installs[s], s) for s in spis if s in installs)
    budget = a.kernel_early
    explained = unexplained = 0
    for t in lost:
        hit = next(((ti, s) for ti, s in times if -0.05 <= ti - t <= WINDOW_S), None)
        if hit and budget > 0:
            budget -= 1
            explained += 1
            print("lost datagram sent at %s: the left kernel got inbound SA 0x%08x %.3f s later "
                  "(rekeyd received the CREATE_CHILD_SA response at %s, kernel install at %s) "
                  "-> peer's early switch" % (clock(t), hit[1], hit[0] - t, spis[hit[1]], clock(hit[0])))
        else:
            unexplained += 1
            why = "no inbound install of a rekeyd-initiated rekey within %.1f s" % WINDOW_S
            if hit:
                why = "kernel counted no more early drops"
            print("lost datagram sent at %s: NOT explained (%s)" % (clock(t), why))
    missing = [s for s in spis if s not in installs]
    if missing:
        print("note: no kernel timeline for SPIs %s" % ", ".join("0x%08x" % s for s in missing))
    print("explained=%d unexplained=%d kernel_early=%d" % (explained, unexplained, a.kernel_early))
    return 0


if __name__ == "__main__":
    sys.exit(main())
