"""The launcher's wire format, shared by the server and the shims (standard library only: a shim
starts with `python -I -S`). A request is one length-prefixed JSON object sent with the client's
stdin, stdout and stderr as SCM_RIGHTS file descriptors; the server answers with JSON lines:
``{"pid": N}`` then ``{"exit": CODE}``, or ``{"refused": REASON}``."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct

HEADER = struct.Struct("!I")
STDIO = 3  # the descriptors a request carries: 0, 1 and 2


def send_request(sock: socket.socket, request: dict, fds: list[int]) -> None:
    body = json.dumps(request).encode()
    data = HEADER.pack(len(body)) + body
    sent = socket.send_fds(sock, [data], fds)
    sock.sendall(data[sent:])


def recv_request(sock: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, STDIO)
    if len(data) < HEADER.size:
        raise ConnectionError("short request")
    (size,) = HEADER.unpack_from(data)
    body = bytearray(data[HEADER.size :])
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            for fd in fds:
                _close(fd)
            raise ConnectionError("request cut short")
        body += chunk
    return json.loads(body), list(fds)


def send_reply(sock: socket.socket, reply: dict) -> None:
    with contextlib.suppress(OSError):  # the client is gone: nobody is left to tell
        sock.sendall(json.dumps(reply).encode() + b"\n")


class Replies:
    """The server's JSON lines, read one at a time; None once the server hung up."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def next(self) -> dict | None:
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(4096)
            except InterruptedError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
