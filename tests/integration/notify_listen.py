#!/usr/bin/env python3
"""Stand in for systemd's notify socket: bind a unix datagram socket at PATH
and append one line per datagram to OUT: "<monotonic s> <sender pid> <fields
joined by |>". The sender pid comes from SCM_CREDENTIALS, as systemd reads it
(NotifyAccess=main drops datagrams from other pids). Runs until killed.
usage: notify_listen.py PATH OUT"""
import os
import socket
import struct
import sys
import time

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
with open(out, "a", buffering=1) as f:
    print(f"{time.monotonic():.3f} 0 LISTENING", file=f)
    while True:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("3i")))
        pid = 0
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", data[:struct.calcsize("3i")])[0]
        text = msg.decode(errors="replace").strip().replace("\n", "|")
        print(f"{time.monotonic():.3f} {pid} {text}", file=f)
