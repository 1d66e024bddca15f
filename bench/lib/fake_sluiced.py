#!/usr/bin/python3
# bench/lib/fake_sluiced.py: a stand-in for sluiced, used only by bench/selftest.
# Owns: just enough of sluiced's outward contract for bench/run to drive it: takes
#   --config FILE (the generated sluice.toml), listens where its receive connector says
#   (127.0.0.1:0), prints "listening <connector> <ip>:<port>" and "ready" on stdout, writes
#   every accepted message into a Maildir under [local_delivery] maildir_root (fsync'd
#   before the 250, RFC 5321 §4.1.1.4 / §6.1), and exits on SIGTERM.
# Not: sluice. It is no benchmark of anything; it checks the harness end to end before the
#   real daemon exists, and with FAKE_SLUICED_DROP_EVERY=K it answers 250 but loses every
#   K-th message, so the self-test can see the harness call such a run invalid.
import argparse
import asyncio
import itertools
import os
import signal
import socket
import sys
import tomllib

from aiosmtpd.smtp import SMTP


class MaildirHandler:
    def __init__(self, root: str, drop_every: int) -> None:
        self.new = os.path.join(root, "sink", "new")
        self.tmp = os.path.join(root, "sink", "tmp")
        os.makedirs(self.new, exist_ok=True)
        os.makedirs(self.tmp, exist_ok=True)
        os.makedirs(os.path.join(root, "sink", "cur"), exist_ok=True)
        self.counter = itertools.count(1)
        self.drop_every = drop_every

    async def handle_DATA(self, server, session, envelope) -> str:
        n = next(self.counter)
        if self.drop_every and n % self.drop_every == 0:
            return "250 2.0.0 accepted (and lost, on purpose)"
        name = f"{os.getpid()}.{n}.{socket.gethostname()}"
        tmp = os.path.join(self.tmp, name)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.new, name))
        return "250 2.0.0 accepted"


async def serve(config: dict, drop_every: int) -> None:
    handler = MaildirHandler(config["local_delivery"]["maildir_root"], drop_every)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    servers = []
    for connector in config["receive_connector"]:
        for listen in connector["listen"]:
            host, _, port = listen.rpartition(":")
            server = await loop.create_server(
                lambda: SMTP(handler, hostname=config["server"]["hostname"]), host, int(port))
            bound = server.sockets[0].getsockname()
            print(f"listening {connector['name']} {bound[0]}:{bound[1]}", flush=True)
            servers.append(server)
    print("ready", flush=True)
    await stop.wait()
    for server in servers:
        server.close()
        await server.wait_closed()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with open(args.config, "rb") as f:
        config = tomllib.load(f)
    drop_every = int(os.environ.get("FAKE_SLUICED_DROP_EVERY", "0"))
    asyncio.run(serve(config, drop_every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
