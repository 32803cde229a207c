"""The exec channel protocol, frame by frame: stdout (1) and stderr (2) apart, the exit code
from the Status on channel 3, deadlines that name what hung; and the websocket adapter over
real websocket frames on a local socket pair."""

from __future__ import annotations

import socket

import pytest
import websocket

from labkit.cluster import channels
from labkit.errors import CommandFailed, ExecTimeout, LabError
from labkit.local.process import ExecResult
from tests.cluster.conftest import SUCCESS, FakeTransport, exit_frame, status_frame


def run(frames, **kwargs) -> ExecResult:
    kwargs.setdefault("timeout", 5.0)
    return channels.run(FakeTransport(frames), ["ip", "-4", "addr"], where="pod netpod",
                        **kwargs)


def test_stdout_and_stderr_frames_stay_apart_and_success_is_exit_zero():
    result = run([b"\x011: lo: <LOOPBACK>", b"\x02warning: x\n", b"\x01 inet 127.0.0.1\n",
                  SUCCESS])
    assert isinstance(result, ExecResult)
    assert (result.stdout, result.stderr, result.returncode) == (
        "1: lo: <LOOPBACK> inet 127.0.0.1\n", "warning: x\n", 0)
    assert result.args == ["ip", "-4", "addr"]
    assert result.where == "pod netpod"


def test_non_zero_exit_code_comes_from_the_status_channel():
    result = run([b"\x02curl: (7) Failed to connect\n", exit_frame(7)])
    assert result.returncode == 7
    with pytest.raises(CommandFailed, match=r"exited 7 in pod netpod") as failed:
        result.check_returncode()
    assert failed.value.returncode == 7


def test_check_true_raises_for_a_non_zero_exit():
    with pytest.raises(CommandFailed):
        run([exit_frame(1)], check=True)


def test_a_program_missing_from_the_image_is_exit_127_with_the_servers_message():
    missing = status_frame({
        "metadata": {}, "status": "Failure", "reason": "InternalError", "code": 500,
        "message": 'Internal error occurred: error executing command in container: failed '
                   'to exec in container: OCI runtime exec failed: exec failed: unable to '
                   'start container process: exec: "strace": executable file not found in '
                   '$PATH: unknown'})
    result = run([missing])
    assert result.returncode == 127
    assert "executable file not found" in result.stderr


def test_a_command_that_never_ends_times_out_naming_command_pod_and_time():
    transport = FakeTransport([b"\x01partial"], closed=False)
    with pytest.raises(ExecTimeout, match=r"'ip -4 addr' in pod netpod did not finish "
                                          r"within 0.05 s"):
        channels.run(transport, ["ip", "-4", "addr"], where="pod netpod", timeout=0.05)
    assert transport.closed
    assert all(t is not None and t <= 0.05 for t in transport.waited)


def test_a_stream_closed_without_a_status_is_an_error_not_exit_zero():
    with pytest.raises(LabError, match="without an exit status"):
        run([b"\x01half an output"])


def test_v5_close_frames_are_not_output():
    result = channels.run(FakeTransport([b"\x01ok\n", bytes([255, 1]), SUCCESS],
                                        subprotocol="v5"), ["true"], where="pod p", timeout=1)
    assert result.stdout == "ok\n"


def test_stdin_is_sent_on_channel_0_and_closed_on_v5():
    transport = FakeTransport([SUCCESS], subprotocol="v5")
    channels.run(transport, ["cat"], where="pod p", timeout=1, input="hello")
    assert transport.sent == [b"\x00hello", bytes([255, 0])]


def test_lines_are_yielded_as_they_complete_across_frames():
    transport = FakeTransport([b'\x01{"flow": 1}\n{"fl', b'\x01ow": 2}\n', SUCCESS])
    got = list(channels.lines(transport, ["hubble", "observe"], where="agent", timeout=1))
    assert got == ['{"flow": 1}', '{"flow": 2}']


def test_lines_raise_when_the_command_fails_at_the_end():
    transport = FakeTransport([b"\x02unknown flag\n", exit_frame(1)])
    with pytest.raises(CommandFailed, match="unknown flag"):
        list(channels.lines(transport, ["hubble", "observe"], where="agent", timeout=1))


def _client_websocket():
    """A websocket-client WebSocket over one end of a socket pair, the server at the other."""
    ours, server = socket.socketpair()
    ws = websocket.WebSocket()
    ws.sock = ours
    ws.connected = True
    return ws, server


def _server_frame(payload: bytes) -> bytes:
    frame = websocket.ABNF(fin=1, opcode=websocket.ABNF.OPCODE_BINARY, mask_value=0, data=payload)
    return frame.format()


def test_websocket_transport_reads_real_binary_frames_and_the_close():
    ws, server = _client_websocket()
    server.sendall(_server_frame(b"\x01hi\n") + _server_frame(SUCCESS)
                   + websocket.ABNF(fin=1, opcode=websocket.ABNF.OPCODE_CLOSE, mask_value=0,
                                    data=b"\x03\xe8").format())
    result = channels.run(channels.WebSocketTransport(ws, "v4.channel.k8s.io"), ["echo"],
                          where="pod p", timeout=2)
    assert (result.stdout, result.returncode) == ("hi\n", 0)
    server.close()


def test_websocket_transport_times_out_when_the_server_is_silent():
    ws, server = _client_websocket()
    with pytest.raises(ExecTimeout):
        channels.run(channels.WebSocketTransport(ws), ["sleep", "9"], where="pod p",
                     timeout=0.1)
    server.close()
