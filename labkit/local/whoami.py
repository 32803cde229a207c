"""A stand-in for traefik/whoami: an HTTP server that tells the caller who answered.

Run by the local lab with the system's /usr/bin/python3 inside a pod's namespaces, so the
hostname is the pod's name and the addresses are the pod's. It answers like whoami::

    Hostname: webpod1
    IP: 127.0.0.1
    IP: 172.16.1.1
    RemoteAddr: 172.16.0.1:48822
    GET / HTTP/1.1
    Host: 172.16.1.1
    ...

Standard library only: it must start with any python3, without labkit's environment.
"""

from __future__ import annotations

import argparse
import email.utils
import fcntl
import socket
import socketserver
import struct
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIOCGIFADDR = 0x8915


def ipv4_addresses() -> list[str]:
    """The IPv4 address of each interface, in interface order (as whoami lists them)."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()))
            except OSError:
                continue
            found.append(socket.inet_ntoa(packed[20:24]))
    return found


class WhoamiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?")[0] == "/health":
            self._reply(200, "")
            return
        # Like whoami: its own lines end in \n, the echoed request (Go's Request.Write) in \r\n.
        lines = [f"Hostname: {socket.gethostname()}"]
        lines += [f"IP: {ip}" for ip in ipv4_addresses()]
        lines.append(f"RemoteAddr: {self.client_address[0]}:{self.client_address[1]}")
        request = [self.requestline] + [f"{k}: {v}" for k, v in self.headers.items()]
        self._reply(200, "\n".join(lines) + "\n" + "\r\n".join(request) + "\r\n\r\n")

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET

    def _reply(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response_only(code)
        self.send_header("Date", email.utils.formatdate(usegmt=True))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - whoami logs nothing
        pass


class WhoamiServer(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self) -> None:
        """Bind without HTTPServer's getfqdn(): a pod has no DNS, and the lookup would stall."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=80)
    port = parser.parse_args().port
    with WhoamiServer(("0.0.0.0", port), WhoamiHandler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
