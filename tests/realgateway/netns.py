"""Run a real gateway cut off from the network, reachable from the test process through a Unix socket.

    python netns.py inside SOCKET PORT MODEL_PORT LOG -- <gateway argv...>   (run under `unshare --net`)
    python netns.py outside SOCKET PORT                                      (run on the host)

`inside` runs as the first process of a fresh network (and PID) namespace: it brings `lo` up, serves a
loopback stand-in for an OpenAI-compatible model server (tests/realgateway/modelserver.py), starts the
gateway, and forwards every connection on SOCKET (a file, so it crosses network namespaces) to the gateway's
loopback PORT. It exits when the gateway does; the kernel then ends everything left in the namespace.
`outside` listens on the host's 127.0.0.1:PORT and forwards to SOCKET, so the worker, the gateway CLI and
the native client all talk to "ws://127.0.0.1:PORT" as they would on the Mac mini.

Standard library only: it runs with whatever Python the tests run with, before anything is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from modelserver import serve_model

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def bring_loopback_up() -> None:
    """`ip link set lo up`, without needing iproute2: an ioctl on any socket of the namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        if flags & IFF_UP:
            return  # the host's own loopback (no namespace): already up, and not ours to touch
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _forwarder(open_target: object) -> object:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await open_target()  # type: ignore[operator]
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, target_writer), _pipe(target_reader, writer))

    return handle


async def inside(sock_path: str, port: int, model_port: int, log: str, argv: list[str]) -> int:
    bring_loopback_up()
    model = await serve_model("127.0.0.1", model_port)
    with open(log, "ab", buffering=0) as out:  # noqa: ASYNC230 - once, before anything runs
        gateway = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    server = None
    if sock_path != "-":  # "-": no namespace, the gateway is on the host's loopback already
        with contextlib.suppress(FileNotFoundError):
            os.unlink(sock_path)
        server = await asyncio.start_unix_server(
            _forwarder(lambda: asyncio.open_connection("127.0.0.1", port)),  # type: ignore[arg-type]
            path=sock_path,
        )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: _stop(gateway))
    code = await gateway.wait()
    if server is not None:
        server.close()
    model.close()
    return code


def _stop(process: asyncio.subprocess.Process) -> None:
    """The gateway and whatever it spawned share its process group: TERM them all."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)


async def outside(sock_path: str, port: int) -> None:
    server = await asyncio.start_server(
        _forwarder(lambda: asyncio.open_unix_connection(sock_path)),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        reuse_address=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()


def main(argv: list[str]) -> int:
    mode = argv[0]
    if mode == "inside":
        sock_path, port, model_port, log = argv[1], int(argv[2]), int(argv[3]), argv[4]
        assert argv[5] == "--"
        return asyncio.run(inside(sock_path, port, model_port, log, argv[6:]))
    if mode == "outside":
        asyncio.run(outside(argv[1], int(argv[2])))
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
