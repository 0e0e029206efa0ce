"""Reading a failed run's error: frames and where it was raised."""

from __future__ import annotations

from runview.store.failure import Failure

TRACEBACK = """Traceback (most recent call last):
  File "/home/me/proj/train.py", line 88, in <module>
    main()
  File "/home/me/proj/train.py", line 61, in main
    loss = model(batch)
  File "/venv/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1532, in _call_impl
    return forward_call(*args, **kwargs)
RuntimeError: CUDA out of memory
"""


def test_the_location_is_the_innermost_frame_of_the_users_code() -> None:
    failure = Failure.from_status({"error": {"type": "RuntimeError", "traceback": TRACEBACK}})
    assert failure is not None
    assert [f.line for f in failure.frames] == [88, 61, 1532]
    assert str(failure.location) == "/home/me/proj/train.py:61 in main"


def test_only_library_frames_give_the_innermost_one() -> None:
    text = "\n".join(line for line in TRACEBACK.splitlines() if "proj/" not in line)
    failure = Failure(type="RuntimeError", traceback=text)
    assert str(failure.location).startswith("/venv/lib/python3.11/site-packages/torch/")


def test_a_status_without_an_error_or_with_junk_is_no_failure() -> None:
    assert Failure.from_status({"state": "finished"}) is None
    odd = Failure.from_status({"error": {"type": 3, "traceback": None}})
    assert odd is not None and odd.location is None and odd.type == ""
