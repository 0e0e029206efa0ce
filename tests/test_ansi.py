"""Sanitising logged text: SGR colours survive, every other control sequence is gone."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from runview.tui.ansi import clean, sanitize_for_pager, sanitize_line

SGR = re.compile(r"\x1b\[[0-9;:]*m")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but \t \n, DEL, C1


def leftover_controls(text: str) -> list[str]:
    """Control characters left once the SGR sequences are taken out."""
    return CONTROL.findall(SGR.sub("", text))


def test_colours_become_styles() -> None:
    text = sanitize_line("loss \x1b[31mred\x1b[0m and \x1b[1;32mbold green\x1b[0m")
    assert text.plain == "loss red and bold green"
    styles = {text.plain[span.start : span.end]: span.style for span in text.spans}
    assert styles["red"].color.number == 1  # ANSI red
    assert styles["bold green"].bold and styles["bold green"].color.number == 2


def test_256_and_truecolour_are_kept() -> None:
    text = sanitize_line("\x1b[38;5;208morange\x1b[0m \x1b[38;2;1;2;3mrgb\x1b[0m")
    assert text.plain == "orange rgb"
    styles = {text.plain[span.start : span.end]: span.style for span in text.spans}
    assert styles["orange"].color.number == 208
    assert tuple(styles["rgb"].color.triplet) == (1, 2, 3)


def test_osc_title_clipboard_and_hyperlinks_are_removed() -> None:
    line = (
        "a\x1b]0;pwned title\x07b\x1b]2;title\x1b\\c"
        "\x1b]52;c;ZWNobyBwd25lZA==\x07d\x1b]8;;https://x.example\x07link\x1b]8;;\x07"
    )
    assert sanitize_line(line).plain == "abcdlink"


def test_screen_and_cursor_control_are_removed() -> None:
    line = "x\x1b[2Jy\x1b[Hz\x1b[10;20H\x1b[5A\x1b[?1049h\x1b[?25l\x1b[r\x1bcw\x1b7\x1b8\x1b(0q"
    assert sanitize_line(line).plain == "xyzwq"


def test_8bit_csi_and_c1_controls_are_removed() -> None:
    assert sanitize_line("a\x9b2Jb\x9b31mc\x85d\x8de").plain == "abcde"
    assert sanitize_line("a\x9d0;title\x9cb").plain == "ab"  # 8-bit OSC with 8-bit ST


def test_dcs_apc_pm_sos_strings_are_removed() -> None:
    line = "a\x1bP+q544e\x1b\\b\x1b_apc\x1b\\c\x1b^pm\x1b\\d\x1bXsos\x1b\\e\x90dcs\x9cf"
    assert sanitize_line(line).plain == "abcdef"


def test_unterminated_strings_swallow_the_rest_of_the_line() -> None:
    assert sanitize_line("ok\x1b]0;never ends").plain == "ok"
    assert sanitize_line("ok\x1b[12").plain == "ok"
    assert sanitize_line("ok\x1b").plain == "ok"


def test_c0_controls_bell_and_backspace() -> None:
    assert sanitize_line("a\x07b\x00c\x0bd\x0ce\x7ff").plain == "abcdef"
    assert sanitize_line("abc\x08\x08XY").plain == "aXY"  # backspace applied
    assert sanitize_line("\x08\x08start").plain == "start"
    assert sanitize_line("a\tb").plain == "a       b"  # tabs expanded, never sent raw


def test_sgr_with_private_or_oversized_parameters_is_dropped() -> None:
    assert clean("a\x1b[?1mb") == "ab"
    assert clean("a\x1b[" + "1;" * 100 + "mb") == "ab"


def test_pager_text_keeps_sgr_and_resets_each_coloured_line() -> None:
    out = sanitize_for_pager(["plain", "\x1b[31mred\x1b]0;t\x07", "x\x1b[2Jy"])
    assert out == "plain\n\x1b[31mred\x1b[0m\nxy\n"


hostile = st.text(
    alphabet=st.sampled_from(
        list("\x1b\x9b\x9c\x9d\x90\x07\x08\x00\r\t\n\x7f\x85[]\\;:?0123456789mJHPX^_abc ")
    ),
    max_size=80,
)


@settings(max_examples=500)
@given(st.lists(hostile, max_size=8))
def test_pager_output_holds_only_sgr_escapes(lines: list[str]) -> None:
    out = sanitize_for_pager(lines)
    assert leftover_controls(out) == []
    assert "\x1b" not in SGR.sub("", out)  # every ESC left starts a whole SGR sequence
    assert out.count("\n") == len(lines)


@settings(max_examples=500)
@given(hostile | st.text(max_size=80))
def test_screen_text_holds_no_control_characters(line: str) -> None:
    text = sanitize_line(line)
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", text.plain)


@settings(max_examples=200, deadline=None)
@given(st.lists(hostile, max_size=12))
def test_pager_export_of_a_hostile_file_holds_only_sgr_escapes(lines: list[str]) -> None:
    import io
    import tempfile
    from pathlib import Path

    from runview.tui.tabs.logs import export_for_pager

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "console.log"
        source.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\xff\x9b")
        out = io.StringIO()
        export_for_pager(source, out)
    text = out.getvalue()
    assert leftover_controls(text) == []
    assert "\x1b" not in SGR.sub("", text)
