"""Console capture end to end: real training scripts in real subprocesses, pipes and ptys."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PREAMBLE = """\
import json, os, subprocess, sys, time
from pathlib import Path
from runview.collectors.console import ConsoleCapture

log_path, result_path = Path(sys.argv[1]), Path(sys.argv[2])
method = sys.argv[3] if len(sys.argv) > 3 else "auto"
result = {}
cap = ConsoleCapture(log_path, method=method)
result["started"] = cap.start()
result["mode"], result["backend"] = cap.mode, cap.backend
result["isatty"] = [sys.stdout.isatty(), sys.stderr.isatty()]
"""

EPILOGUE = """\
t0 = time.monotonic()
cap.stop()
cap.stop()  # idempotent
result["stop_s"] = time.monotonic() - t0
result_path.write_text(json.dumps(result))
"""

WRITES = r"""
print("p-out", flush=True)
print("p-err", file=sys.stderr, flush=True)
os.write(1, b"fd-out\n")
os.write(2, b"fd-err\n")
os.system("echo child-out; echo child-err >&2")
subprocess.run([sys.executable, "-c", "import os; os.write(1, b'sub-out\\n')"], check=True)
sys.stdout.write("step 1\rstep 2\rstep 3\n")
sys.stdout.flush()
"""


def write_script(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "train.py"
    script.write_text(PREAMBLE + textwrap.dedent(body) + EPILOGUE)
    return [sys.executable, str(script), str(tmp_path / "console.log"), str(tmp_path / "r.json")]


def result_of(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "r.json").read_text())


def run_piped(argv: list[str], timeout: float = 10) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def run_in_pty(argv: list[str], rows: int = 33, cols: int = 101, timeout: float = 10):
    """Run with stdout and stderr on a fresh pty; return (returncode, everything the pty showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every holder of the slave (helper included) is gone
                    break
                if not chunk:
                    break
                shown += chunk
    finally:
        os.close(master)
    return proc.wait(timeout=timeout), shown


def test_pipe_mode_tees_every_writer_and_passes_output_through(tmp_path: Path) -> None:
    done = run_piped(write_script(tmp_path, WRITES))
    assert done.returncode == 0, done.stderr
    result = result_of(tmp_path)
    assert result["started"] and result["mode"] == "pipe" and result["backend"] == "process"
    assert result["isatty"] == [False, False]
    # the parent sees each stream unchanged, on the stream it was written to
    assert done.stdout == b"p-out\nfd-out\nchild-out\nsub-out\nstep 1\rstep 2\rstep 3\n"
    assert done.stderr == b"p-err\nfd-err\nchild-err\n"
    log = (tmp_path / "console.log").read_bytes()
    for line in (
        b"p-out\n",
        b"p-err\n",
        b"fd-out\n",
        b"fd-err\n",
        b"child-out\n",
        b"child-err\n",
        b"sub-out\n",
    ):
        assert log.count(line) == 1, (line, log)
    assert b"step 1\rstep 2\rstep 3\n" in log  # raw: the viewer interprets \r
    assert result["stop_s"] < 10.0  # it does not hang (its cost: benchmarks/bench_logger_cost.py)


def test_pty_mode_keeps_a_terminal_for_the_program(tmp_path: Path) -> None:
    body = (
        WRITES
        + """
result["size"] = list(os.get_terminal_size())
result["child_tty"] = subprocess.run(
    [sys.executable, "-c", "import sys; print(sys.stdout.isatty())"], stdout=None
).returncode
"""
    )
    code, shown = run_in_pty(write_script(tmp_path, body))
    assert code == 0, shown
    result = result_of(tmp_path)
    assert result["mode"] == "pty" and result["isatty"] == [True, True]
    assert result["size"] == [101, 33]  # the window size was copied onto the pty
    # the outer terminal still shows everything (its own ONLCR turns \n into \r\n) ...
    for line in (
        b"p-out",
        b"p-err",
        b"fd-out",
        b"fd-err",
        b"child-out",
        b"child-err",
        b"sub-out",
        b"True",
    ):
        assert line + b"\r\n" in shown, (line, shown)
    assert b"step 1\rstep 2\rstep 3\r\n" in shown
    # ... while the log holds the program's bytes: no \r\n added by our pty
    log = (tmp_path / "console.log").read_bytes()
    assert b"\r\n" not in log
    assert b"step 1\rstep 2\rstep 3\n" in log
    assert b"child-out\n" in log and b"fd-err\n" in log and b"True\n" in log


def test_resizing_the_terminal_resizes_the_pty(tmp_path: Path) -> None:
    body = """
(log_path.parent / "ready").write_text("1")
deadline = time.monotonic() + 30
while os.get_terminal_size() == (101, 33) and time.monotonic() < deadline:
    time.sleep(0.01)
result["size"] = list(os.get_terminal_size())
"""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    proc = subprocess.Popen(
        write_script(tmp_path, body), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave
    )
    os.close(slave)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        proc.send_signal(signal.SIGWINCH)  # what the terminal sends its foreground job
        assert proc.wait(timeout=10) == 0
    finally:
        os.close(master)
    assert result_of(tmp_path)["size"] == [120, 40]


LATE_CHILD = """
child = (
    "import os, sys, time, pathlib\\n"
    "time.sleep(4.0)\\n"
    "print('late-line', flush=True)\\n"
    "gone = os.getppid() != int(sys.argv[2])\\n"
    "pathlib.Path(sys.argv[1]).write_text('ok' if gone else 'parent-still-alive')\\n"
)
subprocess.Popen([sys.executable, "-c", child, str(log_path.parent / "marker"), str(os.getpid())])
print("parent-done", flush=True)
"""


@pytest.mark.parametrize("where", ["pipe", "pty"])
def test_child_outliving_the_run_gets_no_epipe(tmp_path: Path, where: str) -> None:
    argv = write_script(tmp_path, LATE_CHILD)
    if where == "pipe":
        done = run_piped(argv)  # returns once the helper closed our pipe, after the child
        code, shown = done.returncode, done.stdout
    else:
        code, shown = run_in_pty(argv)
    assert code == 0
    marker = tmp_path / "marker"
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    # the child wrote after its parent had stopped the capture and exited, and survived it
    assert marker.read_text() == "ok"
    assert result_of(tmp_path)["stop_s"] < 3.0  # stop() did not wait for the child's 4 s
    assert b"late-line" in shown
    deadline = time.monotonic() + 30
    log = tmp_path / "console.log"
    while b"late-line" not in log.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b"parent-done\n" in log.read_bytes() and b"late-line\n" in log.read_bytes()


def test_sigkill_keeps_what_was_already_printed(tmp_path: Path) -> None:
    body = """
print("before-kill")  # stdout is a pipe: block-buffered, flushed by the capture's monitor
os.write(2, b"c-level\\n")
(log_path.parent / "printed").write_text("1")
time.sleep(30)
"""
    argv = write_script(tmp_path, body)
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 10
    while not (tmp_path / "printed").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    log = (tmp_path / "console.log").read_bytes()
    assert b"before-kill\n" in log and b"c-level\n" in log
    assert out == b"before-kill\n" and err == b"c-level\n"


@pytest.mark.parametrize(
    ("method", "mode", "backend"), [("thread", "pipe", "thread"), ("python", "python", "wrap")]
)
def test_fallbacks(tmp_path: Path, method: str, mode: str, backend: str) -> None:
    body = """
print("p-out", flush=True)
os.write(1, b"fd-out\\n")
"""
    done = run_piped(write_script(tmp_path, body) + [method])
    assert done.returncode == 0, done.stderr
    result = result_of(tmp_path)
    assert (result["mode"], result["backend"]) == (mode, backend)
    assert done.stdout == b"p-out\nfd-out\n"
    log = (tmp_path / "console.log").read_bytes()
    assert b"p-out\n" in log
    assert (b"fd-out\n" in log) == (method == "thread")  # a Python-level wrap sees print only


def test_start_returns_false_and_leaves_fds_alone_when_the_log_cannot_open(
    tmp_path: Path,
) -> None:
    (tmp_path / "not-a-dir").write_text("")
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent("""\
        import os, sys
        from runview.collectors.console import ConsoleCapture
        before = os.fstat(1).st_ino
        cap = ConsoleCapture(sys.argv[1] + "/console.log")
        ok = cap.start()
        cap.stop()
        print(ok, cap.mode, os.fstat(1).st_ino == before, flush=True)
        os.write(1, b"still-here\\n")
        """)
    )
    done = run_piped([sys.executable, str(script), str(tmp_path / "not-a-dir")])
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"False off True\nstill-here\n"
    assert done.stderr == b""


def test_stop_before_start_is_harmless(tmp_path: Path) -> None:
    from runview.collectors.console import ConsoleCapture

    cap = ConsoleCapture(tmp_path / "console.log")
    cap.stop()
    assert cap.mode == "off" and not (tmp_path / "console.log").exists()


def test_collectors_console_stays_headless() -> None:
    code = (
        "import sys, runview.collectors.console, runview.collectors.tee_process; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'textual', 'rich', 'plotext'}))"
    )
    done = run_piped([sys.executable, "-c", code])
    assert done.stdout == b"[]\n", done.stderr


def test_thread_takes_over_when_no_helper_can_start(tmp_path: Path) -> None:
    argv = write_script(tmp_path, 'os.write(1, b"fd-out\\n")\n')
    script = Path(argv[1])
    # an embedded interpreter can have no usable sys.executable
    source = script.read_text().replace("cap = Console", "sys.executable = ''\ncap = Console")
    script.write_text(source)
    done = run_piped(argv)
    assert done.returncode == 0, done.stderr
    result = result_of(tmp_path)
    assert (result["mode"], result["backend"]) == ("pipe", "thread")
    assert done.stdout == b"fd-out\n"
    assert b"fd-out\n" in (tmp_path / "console.log").read_bytes()


def test_a_killed_helper_hands_the_fds_back(tmp_path: Path) -> None:
    body = """
print("before", flush=True)
time.sleep(0.3)
os.kill(cap._proc.pid, 9)
time.sleep(0.6)  # the monitor notices within flush_interval and restores fds 1/2
print("after", flush=True)
os.system("echo child-after")
result["mode_after"] = cap.mode
"""
    done = run_piped(write_script(tmp_path, body))
    assert done.returncode == 0, done.stderr
    assert result_of(tmp_path)["mode_after"] == "off"
    assert done.stdout == b"before\nafter\nchild-after\n"
    assert b"before\n" in (tmp_path / "console.log").read_bytes()
