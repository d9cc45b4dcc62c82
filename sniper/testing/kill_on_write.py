#!/usr/bin/env python3
"""Kills a process with SIGKILL while it writes a file atomically.

    kill_on_write.py PID DIR SKIP

Watches DIR and the directories created under it (inotify, through libc)
for a new file whose name holds ".tmp." (port/proto_io.h's temporary of an
atomic write: a checkpoint, proposals, metrics, a picture) and kills PID
the moment the (SKIP+1)-th such file appears, i.e. during that write.
Prints the file's name and exits 0; exits 1 if PID ends first.
"""
import ctypes
import os
import select
import signal
import struct
import sys

IN_CREATE, IN_ISDIR = 0x100, 0x40000000


def main():
    pid, root, skip = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    if fd < 0:
        sys.exit("inotify_init1 failed")
    dirs = {}

    def watch(path):
        wd = libc.inotify_add_watch(fd, path.encode(), IN_CREATE)
        if wd >= 0:
            dirs[wd] = path

    watch(root)
    for entry in os.scandir(root):
        if entry.is_dir():
            watch(entry.path)
    seen = 0
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit(1)
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        data = os.read(fd, 65536)
        at = 0
        while at < len(data):
            wd, mask, _, size = struct.unpack_from("iIII", data, at)
            name = data[at + 16:at + 16 + size].rstrip(b"\0").decode()
            at += 16 + size
            if mask & IN_ISDIR:
                watch(os.path.join(dirs.get(wd, root), name))
            elif ".tmp." in name:
                if seen == skip:
                    os.kill(pid, signal.SIGKILL)
                    print(os.path.join(dirs.get(wd, root), name))
                    return
                seen += 1


if __name__ == "__main__":
    main()
