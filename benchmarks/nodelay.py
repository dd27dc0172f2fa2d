"""Switch Nagle's algorithm off on the Node runner's end of the runner↔engine tunnel, from outside.

RivetKit 2.3.19 has no knob for the runner side (protocol reference §12.1). Linux lets a privileged
process borrow another process's file descriptor: ``pidfd_open(pid)`` + ``pidfd_getfd(pidfd, fd)`` gives
us a duplicate of the runner's socket, and ``setsockopt`` on the duplicate changes the shared socket.
The engine side is switched with ``RIVET__GUARD__TCP_NODELAY=true`` in the server's environment.
"""

from __future__ import annotations

import ctypes
import os
import platform
import socket

_SYS_PIDFD_GETFD = {"x86_64": 438, "aarch64": 438}
_libc = ctypes.CDLL(None, use_errno=True)


def _pidfd_getfd(pidfd: int, fd: int) -> int:
    nr = _SYS_PIDFD_GETFD.get(platform.machine())
    if nr is None:
        raise OSError(f"pidfd_getfd: unknown syscall number on {platform.machine()}")
    res = _libc.syscall(nr, pidfd, fd, 0)
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(res)


def _tcp_inodes(remote_ports: set[int]) -> dict[int, tuple[str, int, str, int]]:
    """inode → (local addr, local port, remote addr, remote port) of established loopback TCP sockets."""
    found: dict[int, tuple[str, int, str, int]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, remote, state, inode = parts[1], parts[2], parts[3], int(parts[9])
            if state != "01":  # ESTABLISHED
                continue
            rport = int(remote.rsplit(":", 1)[1], 16)
            if rport in remote_ports:
                found[inode] = (local, int(local.rsplit(":", 1)[1], 16), remote, rport)
    return found


def runner_sockets(pid: int, engine_ports: set[int]) -> list[tuple[int, tuple[str, int, str, int]]]:
    """(fd, connection) of every TCP socket in ``pid`` connected to one of ``engine_ports``."""
    conns = _tcp_inodes(engine_ports)
    out = []
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inode = int(target[8:-1])
            if inode in conns:
                out.append((int(name), conns[inode]))
    return out


def set_nodelay(pid: int, engine_ports: set[int]) -> list[dict[str, int]]:
    """Set TCP_NODELAY on ``pid``'s sockets to the engine; returns what was switched (fd, local port, before)."""
    switched = []
    pidfd = os.pidfd_open(pid)
    try:
        for fd, conn in runner_sockets(pid, engine_ports):
            dup = _pidfd_getfd(pidfd, fd)
            try:
                sock = socket.socket(fileno=dup)
                try:
                    before = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    after = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                finally:
                    sock.detach()
            finally:
                os.close(dup)
            switched.append({"fd": fd, "local_port": conn[1], "remote_port": conn[3], "before": before, "after": after})
    finally:
        os.close(pidfd)
    return switched
