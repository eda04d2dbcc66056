#!/usr/bin/python3
"""interop/traffic.py: UDP traffic with sequence numbers through a tunnel.

  traffic.py echo --bind ADDR [--port 7777] --out FILE
      answers every datagram with the same bytes; writes "ready" to FILE
      once bound, and on SIGTERM "received=N" (how many requests reached
      this side). On SIGUSR1 it writes the same line, counts again from 0
      and goes on answering (one server for several senders in turn).
  traffic.py send --bind SRC --to DST [--port 7777] [--interval 0.05]
                  --out FILE [--live FILE] [--grace 2]
      sends one datagram per interval (sequence number + send time), counts
      the echoes; every second writes "sent= received= lost= t=" to --live
      (lost = sent more than --grace seconds ago and not yet answered).
      On SIGTERM stops sending, waits up to --grace seconds for the last
      echoes (no longer than until every request is answered), then writes to --out one line of key=value:
        sent= received= lost= late= dup= lost_seqs=a,b lost_at=t1,t2
      lost_at are the wall-clock send times (seconds since the epoch, ms
      precision) of the lost requests, to put next to the kernel's XFRM
      timeline. An echo arriving after --grace counts as lost (and late).

Both directions go through the tunnel, so a loss on either SA counts. Runs
inside the UML guest in one network namespace per side; it only talks to
the address it is given and must not be pointed at anything else.
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys
import time

FMT = "!Qd"  # sequence number, sender's wall-clock send time


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def run_echo(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.bind, a.port))
    stop = []
    report = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGUSR1, lambda *_: report.append(1))
    write_atomic(a.out, "ready")  # the handlers are in place from here on
    n = 0
    while not stop:
        if report:
            write_atomic(a.out, "received=%d" % n)
            n = 0
            del report[:]
        try:
            # short: SIGTERM is only seen when select returns, and
            # traffic_stop waits for this process
            r, _, _ = select.select([s], [], [], 0.1)
        except InterruptedError:
            continue
        if not r:
            continue
        data, peer = s.recvfrom(2048)
        n += 1
        try:
            s.sendto(data, peer)
        except OSError:
            pass  # no SA yet (EAGAIN from an ACQUIRE): the sender counts it
    write_atomic(a.out, "received=%d" % n)


def run_send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, 0))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sent = {}  # seq -> send time, until answered
    answered = set()
    late = dup = senderr = 0
    seq = 0
    nxt = time.monotonic()
    live_at = nxt + 1.0
    end = None
    while True:
        now = time.monotonic()
        if stop and end is None:
            end = now + a.grace
        # Every request answered: nothing is left to wait for. (An echo of
        # an answered request could only be a duplicate.) Otherwise wait
        # out the grace for the stragglers, which then count as lost.
        if end is not None and (now >= end or not sent):
            break
        if end is None and now >= nxt:
            seq += 1
            t = time.time()
            sent[seq] = t
            try:
                s.sendto(struct.pack(FMT, seq, t), (a.to, a.port))
            except OSError:
                senderr += 1  # counted as lost: it never got an echo
            nxt += a.interval
            if nxt < now:  # a stall (busy guest): do not burst to catch up
                nxt = now + a.interval
        if a.live and now >= live_at:
            old = time.time() - a.grace
            lost = sum(1 for t in sent.values() if t < old)
            write_atomic(a.live, "sent=%d received=%d lost=%d t=%.3f" %
                         (seq, len(answered), lost, time.time()))
            live_at = now + 1.0
        wait = max(0.0, min(nxt if end is None else end, live_at) - now)
        try:
            r, _, _ = select.select([s], [], [], wait)
        except InterruptedError:
            continue
        while r:
            try:
                data = s.recv(2048, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if len(data) < struct.calcsize(FMT):
                continue
            k, t = struct.unpack(FMT, data[:struct.calcsize(FMT)])
            if k in answered:
                dup += 1
            elif k in sent:
                if time.time() - t > a.grace:
                    late += 1
                else:
                    answered.add(k)
                del sent[k]
    lost = sorted(sent)
    lost_at = ",".join("%.3f" % sent[k] for k in lost)
    line = ("sent=%d received=%d lost=%d late=%d dup=%d senderr=%d "
            "lost_seqs=%s lost_at=%s" %
            (seq, len(answered), len(lost) + late, late, dup, senderr,
             ",".join(map(str, lost)), lost_at))
    write_atomic(a.out, line)
    if a.live:
        write_atomic(a.live, "sent=%d received=%d lost=%d t=%.3f" %
                     (seq, len(answered), len(lost) + late, time.time()))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["echo", "send"])
    p.add_argument("--bind", required=True)
    p.add_argument("--to")
    p.add_argument("--port", type=int, default=7777)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--grace", type=float, default=2.0)
    p.add_argument("--out", required=True)
    p.add_argument("--live")
    a = p.parse_args()
    if a.mode == "echo":
        run_echo(a)
    else:
        if not a.to:
            p.error("send needs --to")
        run_send(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
