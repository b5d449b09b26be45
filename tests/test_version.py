"""`openproctor --version` names the version, and the changelog has a section for it."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from openproctor import __version__
from openproctor.cli import main

CHANGELOG = Path(__file__).parent.parent / "CHANGELOG.md"
RELEASE_HEADING = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", re.MULTILINE)


def test_version_is_printed_under_the_command_name() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"openproctor, version {__version__}\n"


def test_the_newest_changelog_release_is_this_version() -> None:
    releases = RELEASE_HEADING.findall(CHANGELOG.read_text())
    assert releases, "CHANGELOG.md has no release section (## [x.y.z] - YYYY-MM-DD)"
    assert releases[0] == __version__
