"""Every `python -m kit ...` command shown in README.md's (and docs/*.md's) code blocks parses with its command's
real argument parser, and every command's --help works: the user's guide cannot drift from the command line."""
from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from kit.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


class Parsed(BaseException):
    """Raised by the patched parse_args: the command line parsed, nothing ran (BaseException: kit.cli.main's
    error handling does not turn it into a message)."""


def kit_commands(page: Path) -> list:
    """(line number, argv) of every `python -m kit` command in the page's fenced code blocks, continuation
    lines (trailing backslash) joined, trailing comments dropped."""
    out, in_block, pending, start = [], False, "", 0
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            in_block, pending = not in_block, ""
            continue
        if not in_block:
            continue
        text = (pending + " " + line.strip()) if pending else line.strip()
        start = start if pending else number
        if text.endswith("\\"):
            pending = text[:-1]
            continue
        pending = ""
        match = re.search(r"(?:^|\s|/)python3? -m kit (.*)$", text)
        if match and not text.startswith("#"):
            out.append((start, shlex.split(match.group(1), comments=True)))
    return out


def test_the_pages_show_commands():
    found = {page.name: kit_commands(page) for page in PAGES}
    assert len(found["README.md"]) >= 15
    shown = {argv[0] for commands in found.values() for _, argv in commands}
    assert {"train", "predict", "pseudo-label", "bundle", "demo", "bench"} <= shown


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_on_the_page_parses(page, monkeypatch):
    real = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        raise Parsed(real(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    wrong = []
    for line, argv in kit_commands(page):
        if argv[0] not in COMMANDS:
            wrong.append(f"{page.name}:{line}: unknown command {argv[0]!r}")
            continue
        try:
            main(argv)
            wrong.append(f"{page.name}:{line}: {' '.join(argv)} ran without parsing a command line")
        except Parsed:
            pass
        except SystemExit as exc:  # --help exits 0 before parse_args returns
            if exc.code == 0 and "--help" in argv:
                continue
            wrong.append(f"{page.name}:{line}: {' '.join(argv)} does not parse (exit {exc.code})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command, capsys):
    argv = [command, "quality", "--help"] if command == "bench" else [command, "--help"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0 and "usage:" in capsys.readouterr().out


def test_every_config_key_is_in_the_config_page():
    from dataclasses import fields

    from kit.config import Config

    page = (ROOT / "docs" / "config.md").read_text()
    keys = [f.name for section in fields(Config) for f in fields(getattr(Config(), section.name))]
    assert len(keys) > 90
    assert not [k for k in keys if f"| `{k}` |" not in page], "keys missing from docs/config.md"
