#!/usr/bin/python3
# bench/lib/relay_timed.py: one relay run, timed end to end: from the start of the load
# until the last message has reached the sink.
# Owns: starting the load command, counting the files smtp-sink dumps (one per message,
#   `smtp-sink -d`) with a bounded poll, the monotonic timing of both the accept phase
#   (the load generator's exit) and the end-to-end phase (N new files in the sink), and
#   the deadlines (a hard one, and a stall: no new file for STALL seconds after the load).
# Not: starting the servers or the sink, deciding validity (bench/relay does).
#
# usage: relay_timed.py TIMEOUT STALL SINK_DIR N CMD [ARG...]
# Prints one line "ACCEPT_SECONDS E2E_SECONDS EXIT_CODE ARRIVED" on stdout (ARRIVED: files
# added to SINK_DIR during the run; E2E_SECONDS is the time of the last one seen). Exit code
# 124 if the load itself ran past TIMEOUT, as timeout(1). The load's stdout goes to our
# stderr. SIGTERM/SIGINT end the load's process group too.
import os
import signal
import subprocess
import sys
import time


def count(d):
    try:
        return sum(1 for e in os.scandir(d) if e.is_file())
    except FileNotFoundError:
        return 0


def main() -> int:
    if len(sys.argv) < 6:
        print("usage: relay_timed.py TIMEOUT STALL SINK_DIR N CMD [ARG...]", file=sys.stderr)
        return 2
    limit, stall = float(sys.argv[1]), float(sys.argv[2])
    sink, n = sys.argv[3], int(sys.argv[4])
    before = count(sink)
    start = time.monotonic()
    child = subprocess.Popen(sys.argv[5:], stdout=sys.stderr, start_new_session=True)

    def stop(signum, _frame):
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    rc = None
    accept = 0.0
    got, last_change, e2e = 0, start, 0.0
    while True:
        now = time.monotonic()
        if rc is None:
            rc = child.poll()
            if rc is not None:
                accept = now - start
            elif now - start > limit:
                os.killpg(child.pid, signal.SIGTERM)
                try:
                    child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
                rc, accept = 124, now - start
        c = count(sink) - before
        if c != got:
            got, last_change, e2e = c, now, now - start
        if rc is not None:
            if got >= n or now - last_change > stall or now - start > limit + stall:
                break
        time.sleep(0.02)
    print(f"{accept:.6f} {e2e:.6f} {rc} {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
