"""A screenshot of the proctor's wall with 30 candidates in the compact view at 1366x768
(`python -m tests.web.wall_shot OUT.png [--models DATA_DIR/models]`): 14 in the exam streaming
live video from one light page (tests/web/light_publishers.py: real sessions on their own
sockets, two of them with a tab switch open), the others at every other stage of the exam
(tests/web/wall_rows.py).

One server (SQLite; one analysis worker with --models, else analysis off), the candidates'
page with a face on the fake camera, the proctor in another Chromium.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from openproctor.db import make_engine, make_session_factory
from openproctor.domains.users.models import Role
from openproctor.live.tile import Stage
from openproctor.migrations import upgrade
from openproctor.settings import load_settings
from tests.conftest import Factory, serving
from tests.web import light_publishers
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.live_media import media_browser
from tests.web.pages import sign_in
from tests.web.test_wall_scale import LAPTOP
from tests.web.wall_rows import candidate_at

LIVE_NAMES = [
    "Amara Okafor", "Bruno Diaz", "Chloé Martin", "Dev Patel", "Eun-ji Kim", "Farah Haddad",
    "Goran Petrović", "Hana Sato", "Ivan Petrov", "Jamal Wright", "Kofi Mensah", "Lena Vogel",
    "Mateo Rossi", "Nadia Ahmed",
]  # fmt: skip
# The other sixteen: where they are, and their risk score so far.
OTHERS: list[tuple[str, Stage, float]] = [
    ("Olu Adeyemi", Stage.INVITED, 0),
    ("Priya Nair", Stage.INVITED, 0),
    ("Quentin Blanc", Stage.CHECKING, 0),
    ("Rosa Jiménez", Stage.CHECKING, 0),
    ("Sami Laine", Stage.ENROLLING, 0),
    ("Tariq Aziz", Stage.WAITING, 0),
    ("Uma Reddy", Stage.STUCK, 0),
    ("Viktor Horváth", Stage.ADMITTED, 0),
    ("Wen Li", Stage.ADMITTED, 0),
    ("Xavier Dubois", Stage.RUNNING, 18),
    ("Yara Costa", Stage.RUNNING, 41),
    ("Zoe Becker", Stage.PAUSED, 35),
    ("Aiden Murphy", Stage.RUNNING, 8),
    ("Bea Schmidt", Stage.SUBMITTED, 12),
    ("Carlos Ortega", Stage.SUBMITTED, 0),
    ("Dana Cohen", Stage.TERMINATED, 88),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", type=Path, help="the model files: one analysis worker")
    parser.add_argument("--density", choices=("compact", "comfortable"), default="compact")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wall-shot-"))
    database = workdir / "shot.db"
    if args.models:
        (workdir / "data").mkdir()
        (workdir / "data" / "models").symlink_to(args.models.resolve())
    settings = load_settings(
        env="test",
        data_dir=workdir / "data",
        database_url=f"sqlite:///{database}",
        analysis_workers=1 if args.models else 0,
    )
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    factory = Factory(make_session_factory(engine)())
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(title="Statistics final")
    live = [factory.candidate(exam, proctor, name=name.split()[0]) for name in LIVE_NAMES]
    for candidate, name in zip(live, LIVE_NAMES, strict=True):
        candidate.name = name
    factory.db.commit()
    for name, stage, risk in OTHERS:
        candidate_at(factory, exam, proctor, name, stage, risk=risk)
    with sync_playwright() as playwright, serving(settings) as base_url:
        publishers = media_browser(playwright, workdir)
        publishing = light_publishers.publish(publishers, base_url, factory, live)
        # Their camera pictures go to the analysis (the light page holds them back unless
        # told), and two candidates leave the exam's tab: an open "tab switch" alert each.
        publishing.evaluate(
            """() => {
                for (const { link } of window.__publishers) link.setPaused(false);
                for (const index of [2, 9]) window.__publishers[index].link.signal("tab_hidden");
            }"""
        )
        staff = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = staff.new_context(base_url=base_url, viewport=LAPTOP).new_page()
        sign_in(page, proctor)
        page.goto(f"/proctor/exams/{exam.id}")
        page.get_by_test_id(f"density-{args.density}").click()
        live_tiles = page.locator("[data-testid=candidate-tile][data-live=live]")
        expect(live_tiles).to_have_count(len(LIVE_NAMES), timeout=60000)
        tab_alerts = page.locator("[data-testid=alert][data-kind=tab_switch]")
        expect(tab_alerts).to_have_count(2, timeout=15000)
        page.wait_for_timeout(3000)  # every tile's video has its first frames
        page.mouse.move(0, 0)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        staff.close()
        publishers.close()
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
