"""Hash and copy whole files without reading them into memory: sha256 in chunks, copies by the
kernel (reflink, then ``copy_file_range``, then ``sendfile``, then plain reads)."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

CHUNK = 1024 * 1024  # hashlib releases the GIL on chunks this size: training threads keep running
COPY_CHUNK = 16 * CHUNK  # per kernel call: large, but a cancelled copy stops within one
FICLONE = 0x40049409  # linux/fs.h: share the extents (btrfs, xfs with reflink, bcachefs)

Progress = Callable[[int], None]


class FileChanged(OSError):
    """The source changed (size, time or identity) while it was being read."""


def file_stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    """What tells two states of a file apart without reading it: device, inode, size, mtime."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def sha256_fd(fd: int, progress: Progress | None = None) -> tuple[str, int]:
    """(hex digest, bytes read) of an open file from its current offset to its end."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    total = 0
    while True:
        n = os.readv(fd, [buffer])
        if not n:
            break
        digest.update(view[:n])
        total += n
        if progress is not None:
            progress(n)
    return digest.hexdigest(), total


def sha256_file(path: str | os.PathLike[str], progress: Progress | None = None) -> tuple[str, int]:
    """(hex digest, size) of a regular file; raises OSError (``FileChanged`` if it moved)."""
    fd = open_regular(path)
    try:
        before = os.fstat(fd)
        digest, size = sha256_fd(fd, progress)
        if file_stamp(os.fstat(fd)) != file_stamp(before) or size != before.st_size:
            raise FileChanged(errno.EAGAIN, "changed while it was being hashed", str(path))
        return digest, size
    finally:
        os.close(fd)


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor of ``path`` (following symlinks), refusing anything but a regular
    file: a FIFO or a device would block or never end."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def copy_fd(src: int, dst: int, size: int, progress: Progress | None = None) -> str:
    """Copy ``size`` bytes from ``src`` to ``dst`` (both at offset 0); returns the method used.

    A reflink shares the blocks and costs nothing; ``copy_file_range`` and ``sendfile`` copy
    inside the kernel; the last resort reads and writes 1 MiB at a time. None reads the file
    into memory.
    """
    try:
        fcntl.ioctl(dst, FICLONE, src)
        if progress is not None:
            progress(size)
        return "reflink"
    except OSError:
        pass
    if _is_sparse(src, size):
        try:
            _copy_sparse(src, dst, size, progress)
            return "copy_file_range (sparse)"
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            os.lseek(dst, 0, os.SEEK_SET)
            os.ftruncate(dst, 0)
    for method in ("copy_file_range", "sendfile"):
        try:
            _kernel_copy(method, src, dst, size, progress)
            return method
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            os.lseek(src, 0, os.SEEK_SET)
            os.lseek(dst, 0, os.SEEK_SET)
            os.ftruncate(dst, 0)
    os.lseek(src, 0, os.SEEK_SET)
    done = 0
    while True:
        data = os.read(src, CHUNK)
        if not data:
            break
        view = memoryview(data)
        while view:
            written = os.write(dst, view)
            view = view[written:]
        done += len(data)
        if progress is not None:
            progress(len(data))
    return "read/write"


def _is_sparse(fd: int, size: int) -> bool:
    try:
        return os.fstat(fd).st_blocks * 512 < size
    except OSError:
        return False


def _copy_sparse(src: int, dst: int, size: int, progress: Progress | None) -> None:
    """Copy only the data extents (SEEK_DATA / SEEK_HOLE): a sparse file stays sparse instead
    of becoming gigabytes of zeros on disk."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(src, offset, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # only a hole is left
                break
            raise
        end = os.lseek(src, start, os.SEEK_HOLE)
        position = start
        while position < end:
            n = os.copy_file_range(src, dst, min(COPY_CHUNK, end - position), position, position)
            if n == 0:
                break
            position += n
            if progress is not None:
                progress(n)
        offset = end
    os.ftruncate(dst, size)


def _kernel_copy(method: str, src: int, dst: int, size: int, progress: Progress | None) -> None:
    done = 0
    while True:
        if method == "copy_file_range":
            n = os.copy_file_range(src, dst, COPY_CHUNK)
        else:
            n = os.sendfile(dst, src, None, COPY_CHUNK)
        if n == 0:
            break
        done += n
        if progress is not None:
            progress(n)
    if done < size:  # the file shrank underneath us: the caller's stamp check reports it
        return


def copy_file(
    source: str | os.PathLike[str],
    target: Path,
    *,
    mode: int = 0o644,
    progress: Progress | None = None,
) -> os.stat_result:
    """Copy ``source`` to the new file ``target`` (which must not exist); returns the source's
    stat from before the copy. Raises ``FileChanged`` when the source moved during the copy, and
    never leaves a partial ``target`` behind."""
    fd = open_regular(source)
    try:
        before = os.fstat(fd)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        try:
            copy_fd(fd, out, before.st_size, progress)
            after = os.fstat(fd)
            if file_stamp(after) != file_stamp(before) or os.fstat(out).st_size != after.st_size:
                raise FileChanged(errno.EAGAIN, "changed while it was being copied", str(source))
        except BaseException:
            os.close(out)
            remove_quietly(target)
            raise
        os.close(out)
        return before
    finally:
        os.close(fd)


def remove_quietly(path: str | os.PathLike[str]) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
