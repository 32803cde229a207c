"""The Kubernetes exec stream, read frame by frame so that every exec has a deadline.

The API server multiplexes a command's streams over one websocket: each frame starts with a
channel byte (0 stdin, 1 stdout, 2 stderr, 3 the final ``metav1.Status``, 255 "close channel"
in v5.channel.k8s.io). The kubernetes client's own ``stream()`` mixes stdout and stderr and
can wait forever; here the frames are read one at a time against a deadline, the streams are
kept apart, and the exit code comes from the status object.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Iterator
from typing import Protocol

import websocket

from labkit.errors import CommandFailed, ExecTimeout, LabError
from labkit.local.process import ExecResult

STDIN, STDOUT, STDERR, STATUS, CLOSE = 0, 1, 2, 3, 255
V5 = "v5.channel.k8s.io"
CLOSED = b""  # what Transport.recv returns once the server has closed the stream


class Transport(Protocol):
    """One exec websocket: whole frames in, frames out."""

    subprotocol: str | None

    def recv(self, timeout: float | None) -> bytes | None:
        """The next data frame; None if none came within timeout; CLOSED at the end."""

    def send(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class WebSocketTransport:
    """A Transport over websocket-client's WebSocket (the one the kubernetes client opens)."""

    def __init__(self, ws: websocket.WebSocket, subprotocol: str | None = None) -> None:
        self.ws = ws
        self.subprotocol = subprotocol or getattr(ws, "subprotocol", None)

    def recv(self, timeout: float | None) -> bytes | None:
        self.ws.settimeout(timeout)
        try:
            opcode, frame = self.ws.recv_data_frame(True)
        except websocket.WebSocketTimeoutException:
            return None
        except websocket.WebSocketConnectionClosedException:
            return CLOSED
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return CLOSED
        if opcode in (websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT):
            return bytes(frame.data)
        return None  # ping/pong: answered by websocket-client, nothing for us

    def send(self, data: bytes) -> None:
        self.ws.send(data, opcode=websocket.ABNF.OPCODE_BINARY)

    def close(self) -> None:
        """Drops the connection at once (a close handshake could wait seconds on a hung
        server; the API server ends the exec session either way)."""
        self.ws.shutdown()


def exit_code(status: dict | None) -> tuple[int, str]:
    """The exit code in a final Status, and any message to add to stderr.

    A command that ran and failed has reason NonZeroExitCode with the code in
    ``details.causes[reason=ExitCode]``; a command that could not start (no such program)
    is a plain Failure: 127 when the program is missing, as a shell would say, else 1.
    """
    if status is None:
        raise LabError("the exec stream closed without an exit status (the API server or "
                       "the kubelet dropped the connection); run the command again")
    if status.get("status") == "Success":
        return 0, ""
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause["message"]), ""
    message = status.get("message", "exec failed")
    missing = "executable file not found" in message or "no such file or directory" in message
    return (127 if missing else 1), message + "\n"


class _Stream:
    """Reads the frames of one exec until the status arrives or the deadline passes."""

    def __init__(self, transport: Transport, argv: list[str], where: str,
                 timeout: float | None) -> None:
        self.transport = transport
        self.argv = argv
        self.where = where
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.status = bytearray()

    def send_stdin(self, data: str) -> None:
        self.transport.send(bytes([STDIN]) + data.encode())
        if self.transport.subprotocol == V5:
            self.transport.send(bytes([CLOSE, STDIN]))  # EOF on stdin

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(channel, data) for each stdout/stderr frame; the status is kept aside."""
        while True:
            remaining = None if self.deadline is None else self.deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise ExecTimeout(
                    f"{shlex.join(self.argv)!r} in {self.where} did not finish within "
                    f"{self.timeout} s and was abandoned; pass a larger timeout= if it needs "
                    "longer")
            frame = self.transport.recv(remaining)
            if frame is None:
                continue
            if frame == CLOSED:
                return
            channel, data = frame[0], frame[1:]
            if channel == STATUS:
                self.status += data
            elif channel in (STDOUT, STDERR):
                yield channel, data

    def exit(self) -> tuple[int, str]:
        return exit_code(json.loads(self.status) if self.status else None)


def run(transport: Transport, argv: list[str], *, where: str, timeout: float | None,
        check: bool = False, input: str | None = None) -> ExecResult:
    """Runs an exec to its end: stdout and stderr apart, the exit code from the status."""
    stream = _Stream(transport, argv, where, timeout)
    out, err = bytearray(), bytearray()
    try:
        if input is not None:
            stream.send_stdin(input)
        for channel, data in stream.frames():
            (out if channel == STDOUT else err).extend(data)
    finally:
        transport.close()
    code, message = stream.exit()
    result = ExecResult(argv, code, out.decode(errors="replace"),
                        err.decode(errors="replace") + message, where)
    if check:
        result.check_returncode()
    return result


def lines(transport: Transport, argv: list[str], *, where: str,
          timeout: float | None) -> Iterator[str]:
    """Yields stdout line by line as it arrives (``hubble observe --follow``); stopping the
    generator closes the stream. A non-zero exit at the end raises CommandFailed."""
    stream = _Stream(transport, argv, where, timeout)
    pending, err = b"", bytearray()
    try:
        for channel, data in stream.frames():
            if channel == STDERR:
                err.extend(data)
                continue
            pending += data
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.decode(errors="replace")
        if pending:
            yield pending.decode(errors="replace")
    finally:
        transport.close()
    code, message = stream.exit()
    if code != 0:
        stderr = err.decode(errors="replace") + message
        raise CommandFailed(f"{shlex.join(argv)!r} exited {code} in {where}: {stderr.strip()}",
                            returncode=code, stdout="", stderr=stderr)
