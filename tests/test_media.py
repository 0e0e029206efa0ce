"""Media on real run directories: Images and Tables logged, files written, decoded back, read by the
reader."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import runview
from runview._media import encode_png, media_folder
from runview.store.media import MediaError, decode_png, load_image, load_table, resolve
from runview.store.reader import RunReader


def new_run(root: Path) -> runview.Run:
    return runview.init(project="m", dir=root, console=False, system_interval=None)


def history(run: runview.Run) -> list[dict]:
    return [json.loads(line) for line in (run.dir / "history.jsonl").read_text().splitlines()]


def pixels_of(run: runview.Run, item: dict) -> np.ndarray:
    return load_image(resolve(run.dir, item["path"]))


def test_images_from_arrays_grey_rgb_rgba_uint8_and_float(run_root: Path) -> None:
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    rgb = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (4, 3, 4), dtype=np.uint8)
    floats = rng.random((6, 4, 3))
    floats[0, 0] = [-1.0, 2.0, np.nan]  # clipped, NaN -> 0
    run = new_run(run_root)
    run.log(
        {
            "val/examples": [
                runview.Image(grey, caption="grey"),
                runview.Image(rgb),
                runview.Image(rgba, caption="a"),
                runview.Image(floats, caption="f"),
            ]
        },
        step=3,
    )
    run.finish()
    (row,) = history(run)
    ref = row["val/examples"]
    assert ref["_type"] == "images" and len(ref["items"]) == 4
    assert [i["caption"] for i in ref["items"]] == ["grey", None, "a", "f"]
    assert [(i["width"], i["height"]) for i in ref["items"]] == [(9, 7), (6, 5), (3, 4), (4, 6)]
    for index, item in enumerate(ref["items"]):
        assert item["path"].startswith(f"media/val__examples/3_{index}_") and item["path"].endswith(
            ".png"
        )
        assert (run.dir / item["path"]).is_file()
    assert np.array_equal(pixels_of(run, ref["items"][0])[..., 0], grey)
    assert np.array_equal(pixels_of(run, ref["items"][1]), rgb)
    assert np.array_equal(pixels_of(run, ref["items"][2]), rgba)
    expected = (np.clip(np.nan_to_num(floats), 0, 1) * 255 + 0.5).astype(np.uint8)
    back = pixels_of(run, ref["items"][3])
    assert np.array_equal(back, expected) and list(back[0, 0]) == [0, 255, 0]


def test_single_image_logs_as_list_of_one_and_reader_sees_media(run_root: Path) -> None:
    run = new_run(run_root)
    for step in range(3):
        run.log(
            {
                "loss": 1.0 / (step + 1),
                "sample": runview.Image(np.full((2, 2), step * 100, np.uint8)),
            }
        )
    run.finish()
    snapshot = RunReader(run.dir).refresh()
    media = snapshot.history.media["sample"]
    assert [step for step, _ in media] == [0, 1, 2]
    assert all(ref["_type"] == "images" and len(ref["items"]) == 1 for _, ref in media)
    assert "loss" in snapshot.history.series and "sample" not in snapshot.history.series
    last = media[-1][1]["items"][0]
    assert pixels_of(run, last)[0, 0, 0] == 200


def test_torch_chw_tensor(run_root: Path) -> None:
    torch = pytest.importorskip("torch")
    chw = torch.rand(3, 8, 5, requires_grad=True)
    run = new_run(run_root)
    run.log({"t": runview.Image(chw * 1.0)})
    run.finish()
    item = history(run)[0]["t"]["items"][0]
    assert (item["width"], item["height"]) == (5, 8)
    expected = (chw.detach().permute(1, 2, 0).numpy().clip(0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(pixels_of(run, item), expected)


def test_image_from_png_path_is_copied_as_is(run_root: Path, tmp_path: Path) -> None:
    source = tmp_path / "pic.PNG"
    picture = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    source.write_bytes(encode_png(picture))
    run = new_run(run_root)
    run.log({"val/file": runview.Image(str(source), caption="from disk")}, step=7)
    run.finish()
    item = history(run)[0]["val/file"]["items"][0]
    assert item["path"].startswith("media/val__file/7_0_") and item["path"].endswith(".png")
    assert (run.dir / item["path"]).read_bytes() == source.read_bytes()
    assert (item["width"], item["height"], item["caption"]) == (5, 4, "from disk")
    assert np.array_equal(pixels_of(run, item), picture)


def test_table_round_trip_with_nan_and_odd_values(run_root: Path) -> None:
    table = runview.Table(
        columns=["id", "pred", "score"], data=[[0, "cat", 0.9], [1, "dog", float("nan")]]
    )
    table.add_data(np.int64(2), object.__name__, np.float32(0.5))
    table.add_data(3, Path("x"), None)
    run = new_run(run_root)
    run.log({"val/preds": table}, step=2)
    run.finish()
    ref = history(run)[0]["val/preds"]
    assert (
        ref["_type"] == "table" and ref["rows"] == 4 and ref["columns"] == ["id", "pred", "score"]
    )
    assert ref["path"].startswith("media/val__preds/2_") and ref["path"].endswith(".table.json")
    document = json.loads((run.dir / ref["path"]).read_text())
    assert document == {
        "columns": ["id", "pred", "score"],
        "data": [[0, "cat", 0.9], [1, "dog", None], [2, "object", 0.5], [3, "x", None]],
    }
    columns, rows = load_table(run.dir / ref["path"])
    assert columns == ref["columns"] and rows == document["data"]


def test_unsupported_object_in_a_list_warns_once_and_never_raises(
    run_root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = new_run(run_root)
    good = np.zeros((2, 2), np.uint8)
    for step in range(3):
        run.log({"ex": [runview.Image(good), object()], "loss": 0.5}, step=step)
    run.log({"bad": runview.Image(np.zeros((2, 2, 2, 2)))})
    run.log({"bad": runview.Image(np.zeros((2, 2, 2, 2)))})
    run.log({"nothing": [object()]})
    run.finish()
    err = capfd.readouterr().err
    assert err.count("'ex'[1]") == 1 and "object is not a runview.Image" in err
    assert err.count("cannot log 'bad'") == 1 and "not HxW" in err
    assert err.count("'nothing'") == 1
    rows = history(run)
    assert [len(r["ex"]["items"]) for r in rows[:3]] == [1, 1, 1]
    assert "bad" not in rows[3] and "nothing" not in rows[5]


def test_scalar_log_is_unaffected(run_root: Path) -> None:
    run = new_run(run_root)
    run.log({"a": 1.5, "b": 2})
    run.log({"c": float("nan"), "n": {"x": 1}})
    run.finish()
    rows = history(run)
    assert rows[0]["a"] == 1.5 and rows[0]["b"] == 2
    assert rows[1]["c"] == {"$float": "nan"} and rows[1]["n/x"] == 1
    assert not (run.dir / "media").exists()


def test_import_runview_imports_no_pil_no_textual_no_numpy(tmp_path: Path) -> None:
    code = (
        "import sys, runview; runview.Image; runview.Table; "
        "print(sorted(m for m in ('PIL', 'textual', 'rich', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_media_folder_names_are_safe() -> None:
    assert media_folder("val/examples") == "val__examples"
    assert media_folder("../../etc") == "__..__etc"
    assert "/" not in media_folder("a b/../c") and not media_folder("..").startswith(".")


# -- the decoder against PNGs that use every filter (as foreign encoders do) -----------------------
def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filtered_png(pixels: np.ndarray, filters: list[int]) -> bytes:
    """A PNG whose rows use the given filter types (the forward filters of the PNG spec)."""
    height, width = pixels.shape[:2]
    bpp = 1 if pixels.ndim == 2 else pixels.shape[2]
    color = {1: 0, 2: 4, 3: 2, 4: 6}[bpp]
    lines = pixels.reshape(height, -1).astype(int).tolist()
    out = bytearray()
    prior = [0] * len(lines[0])
    for y, line in enumerate(lines):
        kind = filters[y % len(filters)]
        out.append(kind)
        for i, x in enumerate(line):
            a = line[i - bpp] if i >= bpp else 0
            b = prior[i]
            c = prior[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
            out.append((x - pred) & 0xFF)
        prior = line

    def chunk(tag: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + tag
            + body
            + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    body = zlib.compress(bytes(out))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", body[:10])
        + chunk(b"IDAT", body[10:])
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("shape", [(9, 7), (9, 7, 2), (9, 7, 3), (9, 7, 4)])
def test_decoder_undoes_every_filter(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(2).integers(0, 256, shape, dtype=np.uint8)
    decoded = decode_png(filtered_png(pixels, [0, 1, 2, 3, 4, 4, 3, 1, 2]))
    assert np.array_equal(decoded.reshape(pixels.shape), pixels)


def test_decoder_refuses_what_it_cannot_read_with_a_clear_message(tmp_path: Path) -> None:
    png = encode_png(np.zeros((2, 2, 3), np.uint8))
    sixteen = png[:24] + bytes([16]) + png[25:]
    with pytest.raises(MediaError, match="16-bit PNG.*Pillow"):
        decode_png(_fix_ihdr_crc(sixteen))
    interlaced = png[:28] + bytes([1]) + png[29:]
    with pytest.raises(MediaError, match="interlaced.*Pillow"):
        decode_png(_fix_ihdr_crc(interlaced))
    with pytest.raises(MediaError, match="JPEG.*Pillow"):
        decode_png(b"\xff\xd8\xff\xe0" + b"\0" * 20)
    with pytest.raises(MediaError, match="CRC|truncated"):
        decode_png(png[:-20] + b"garbage" + png[-13:])
    with pytest.raises(MediaError, match="file not found"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(MediaError, match="leaves the run directory"):
        resolve(tmp_path, "../../etc/passwd")


def _fix_ihdr_crc(png: bytes) -> bytes:
    body = png[12:29]
    return png[:29] + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF) + png[33:]


def test_table_file_that_is_not_json_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.table.json"
    bad.write_text("{nope")
    with pytest.raises(MediaError, match="not valid JSON"):
        load_table(bad)
