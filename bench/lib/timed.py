#!/usr/bin/python3
# bench/lib/timed.py: runs one load command and measures it with the monotonic clock.
# Owns: the timing of a single run (time.monotonic around the child, not wall-clock time,
#   so NTP steps cannot skew a figure) and its hard deadline.
# Not: what the command does, nor judging whether the run was valid (bench/run does that).
#
# usage: timed.py TIMEOUT_SECONDS CMD [ARG...]
# Prints one line "SECONDS EXIT_CODE" on stdout. The child inherits stdin/stderr; its stdout
# goes to our stderr so the one line we print stays machine-readable. On timeout the
# child's whole process group is terminated and the exit code is 124, as timeout(1) does.
# SIGTERM/SIGINT to us end the child's group too (it runs in its own session, so a signal
# meant for the benchmark would not otherwise reach it).
import os
import signal
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: timed.py TIMEOUT_SECONDS CMD [ARG...]", file=sys.stderr)
        return 2
    limit = float(sys.argv[1])
    start = time.monotonic()
    child = subprocess.Popen(sys.argv[2:], stdout=sys.stderr, start_new_session=True)

    def stop(signum, _frame):
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        rc = child.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        rc = 124
    elapsed = time.monotonic() - start
    print(f"{elapsed:.6f} {rc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
