"""A database that does not answer, for tests of the connect and statement timeouts:
``UnansweringDatabaseProxy``, a TCP server on 127.0.0.1 that accepts every connection and holds
it open without writing a byte (as a server that is hung, or a host whose firewall lets
connections in and answers nothing, does).

It may be a proxy to a real server first, passing its first connections on (``forward_to``,
``forward_first``): a database that worked and then stopped answering new connections.
``blackhole()`` then stops passing bytes on those too, in both directions, the sockets kept
open: a database that stopped answering on the connections it has (a failover whose old
primary vanished, packets dropped).
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class UnansweringDatabaseProxy:
    """Serves in a thread of its own (so sync and async tests can use it); ``port`` is the port
    it listens on, bound when it was made (port 0: the kernel's choice)."""

    def __init__(self, *, forward_to: tuple[str, int] | None = None, forward_first: int = 0):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._forward_to = forward_to
        self._forward_first = forward_first if forward_to is not None else 0
        self._accepting = threading.Lock()
        self._accepted = 0
        self._held: list[socket.socket] = []
        self._blackholed = False
        self._selector = selectors.DefaultSelector()
        self._stop_reader, self._stop_writer = socket.socketpair()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._selector.register(self._stop_reader, selectors.EVENT_READ, None)
        self._thread = threading.Thread(
            target=self._serve, name="unanswering-database-proxy", daemon=True
        )
        self._thread.start()

    def accepted(self) -> int:
        """Connections made to it so far: those accepted, and those the kernel has completed
        that the thread has not accepted yet (taken here first), so a client's finished
        connection attempts are all counted."""
        self._accept_waiting()
        return self._accepted

    def blackhole(self) -> None:
        """From now on pass no byte on, in either direction, and forward no new connection; every
        socket stays open. When this returns, no byte is passed on any more."""
        with self._accepting:
            self._forward_first = self._accepted
            self._blackholed = True

    def close(self) -> None:
        self._stop_writer.send(b"x")
        self._thread.join()
        for sock in [*self._held, self._listener, self._stop_reader, self._stop_writer]:
            sock.close()
        self._selector.close()

    def _serve(self) -> None:
        while True:
            for key, _ in self._selector.select():
                if key.fileobj is self._stop_reader:
                    return
                if key.fileobj is self._listener:
                    self._accept_waiting()
                else:
                    assert isinstance(key.fileobj, socket.socket)
                    self._pass_on(key.fileobj, key.data)

    def _accept_waiting(self) -> None:
        with self._accepting:
            while True:
                try:
                    connection, _ = self._listener.accept()
                except BlockingIOError:
                    return
                connection.setblocking(True)
                self._accepted += 1
                self._held.append(connection)  # never read, never written: silence
                if self._accepted <= self._forward_first:
                    assert self._forward_to is not None
                    upstream = socket.create_connection(self._forward_to)
                    self._held.append(upstream)
                    self._selector.register(connection, selectors.EVENT_READ, upstream)
                    self._selector.register(upstream, selectors.EVENT_READ, connection)

    def _pass_on(self, source: socket.socket, target: socket.socket) -> None:
        with self._accepting:  # blackhole() waits for a read in progress to be passed on
            if source.fileno() == -1:
                return  # ended with its peer by an earlier event of the same select()
            if self._blackholed:
                self._selector.unregister(source)  # left unread: held open, silent
                return
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if data:
                target.sendall(data)
                return
            # one side ended: end both
            for sock in (source, target):
                self._selector.unregister(sock)
                sock.close()
                self._held.remove(sock)


@contextmanager
def unanswering_database_proxy(
    *, forward_to: tuple[str, int] | None = None, forward_first: int = 0
) -> Iterator[UnansweringDatabaseProxy]:
    server = UnansweringDatabaseProxy(forward_to=forward_to, forward_first=forward_first)
    try:
        yield server
    finally:
        server.close()
