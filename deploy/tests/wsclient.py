"""The two clients the loopback cluster scenario needs, on the standard library only: JSON over HTTP, and a WebSocket
client (RFC 6455: handshake, masked text frames out, text/ping/close frames in) that collects messages on a thread."""

import base64
import json
import os
import queue
import socket
import struct
import threading
import time
import urllib.error
import urllib.request


def call(base, method, path, body=None, token=None, timeout=20):
    """(status, JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if body is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def status_of(url, timeout=3):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class WebSocket:
    """A client connection; received JSON messages land in `self.messages` (a queue) until the socket closes."""

    def __init__(self, host, port, path, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the WebSocket handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"WebSocket handshake refused: {head.decode(errors='replace').splitlines()[0]}")
        self.sock.settimeout(None)
        self.messages = queue.Queue()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, message):
        self._send_frame(0x1, json.dumps(message).encode())

    def close(self):
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()

    def next(self, timeout):
        """The next message, or None after `timeout` seconds."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def wait_for(self, predicate, timeout):
        """Messages until one matches `predicate` (answered) or `timeout` passes (None). Others are dropped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.next(max(0.05, deadline - time.monotonic()))
            if message is not None and predicate(message):
                return message
        return None

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self.lock:
            self.sock.sendall(header + mask + masked)

    def _recv_exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _read(self):
        fragments = b""
        try:
            while True:
                first, second = self._recv_exactly(2)
                opcode, length = first & 0x0F, second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", self._recv_exactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", self._recv_exactly(8))[0]
                payload = self._recv_exactly(length)
                if opcode == 0x9:
                    self._send_frame(0xA, payload)
                elif opcode == 0x8:
                    return
                elif opcode in (0x1, 0x0):
                    fragments += payload
                    if first & 0x80:
                        self.messages.put(json.loads(fragments))
                        fragments = b""
        except (OSError, ConnectionError, ValueError):
            return
        finally:
            self.closed.set()
