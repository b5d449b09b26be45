"""The candidate's ID step in Chromium, with a generated ID card on the fake webcam: the card
carries a clean fixture's face and a printed name (tools/id_cards.py) and is held up in front
of the same person. The camera's video shows the face alone, then the card held up, and loops:
the reference photo is taken while the face alone shows, the ID while the card does, as a
candidate would hold it up when asked.

An ID with the candidate's face and name is read and matched, and they go on; one with another
name is retried and then puts them in the lobby, where the proctor sees the ID next to the
reference photo and the live face, with the distance and the name read, and admits them. The
practice run tries the ID too, and keeps nothing."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, expect
from sqlalchemy import select

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin.models import Admission, CheckIn
from openproctor.domains.objects.models import StoredObject
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role, User
from tests.conftest import Factory
from tests.idcards import CardMaker
from tests.web.axe import blocking_violations
from tests.web.test_lobby import camera_browser, register_reference
from tests.web.test_proctor_wall import wall_page
from tests.web.webcam import FIXTURES, LIT_GROUND, letterboxed, write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.analysis]

FACE = "id_obama_2.jpg"  # the candidate in front of the camera
# Where the card is held (below the face, tools/id_cards.held_to_camera): its mean grey level
# tells the test which part of the looping video the camera shows.
CARD_REGION = (220, 380, 420, 470)  # x1, y1, x2, y2 in the 640x480 frame
FACE_SECONDS, CARD_SECONDS = 3, 5

# The grey level between the two parts' mean over CARD_REGION, set by the fixture.
threshold: dict[str, float] = {}


def region_mean(photo: Path | bytes, ground: tuple[int, int, int]) -> float:
    x1, y1, x2, y2 = CARD_REGION
    grey = np.asarray(letterboxed(photo, ground=ground).convert("L"), np.float64)
    return float(grey[y1:y2, x1:x2].mean())


def card_browser(playwright: Playwright, directory: Path, card: bytes) -> Iterator[Browser]:
    threshold["grey"] = (
        region_mean(FIXTURES / FACE, LIT_GROUND) + region_mean(card, LIT_GROUND)
    ) / 2
    video = write_y4m(
        [(FACE, FACE_SECONDS), (card, CARD_SECONDS)], directory / "card.y4m", ground=LIT_GROUND
    )
    browser = camera_browser(playwright, str(video.resolve()))
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def maker(model_dir: Path) -> CardMaker:
    return CardMaker(model_dir)


@pytest.fixture(scope="module")
def own_card_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory, maker: CardMaker
) -> Iterator[Browser]:
    card = maker.held("id_obama_1.jpg", "Barack Hussein", "Obama")
    yield from card_browser(playwright, tmp_path_factory.mktemp("webcam"), card)


@pytest.fixture(scope="module")
def other_name_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory, maker: CardMaker
) -> Iterator[Browser]:
    card = maker.held("id_obama_1.jpg", "Joseph Robinette", "Biden")
    yield from card_browser(playwright, tmp_path_factory.mktemp("webcam"), card)


def camera_shows_card(page: Page) -> bool:
    """Whether the step's camera preview shows the card held up (else the face alone)."""
    x1, y1, x2, y2 = CARD_REGION
    grey: float = page.locator("video.preview").evaluate(
        """(video, [x1, y1, x2, y2]) => {
          if (!video.videoWidth) return -1;
          const canvas = document.createElement("canvas");
          canvas.width = 640;
          canvas.height = 480;
          const context = canvas.getContext("2d");
          context.drawImage(video, 0, 0, 640, 480);
          const { data } = context.getImageData(x1, y1, x2 - x1, y2 - y1);
          let sum = 0;
          for (let i = 0; i < data.length; i += 4) {
            sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
          }
          return sum / (data.length / 4);
        }""",
        [x1, y1, x2, y2],
    )
    if grey < 0:
        return False
    return grey > threshold["grey"]


def wait_for_part(page: Page, *, card: bool) -> None:
    """Waits until the looping video starts showing that part (so the whole part is ahead)."""
    deadline = time.monotonic() + 3 * (FACE_SECONDS + CARD_SECONDS)
    seen_other = False
    while time.monotonic() < deadline:
        showing = camera_shows_card(page)
        if showing != card:
            seen_other = True
        elif seen_other:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the camera never started showing the {'card' if card else 'face'}")


def to_id_step(browser: Browser, live_server: str, candidate: Candidate) -> Page:
    """The candidate's page from the invite link through the reference photo to the ID step."""
    page = browser.new_context(base_url=live_server).new_page()
    page.goto(f"/take/{candidate.invite_token}")
    page.get_by_test_id("consent").check()
    page.get_by_test_id("next").click()
    passed = page.locator("[data-check]:is([data-status=ok], [data-status=warn])")
    expect(passed).to_have_count(5, timeout=15000)
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("step-enrol")).to_be_visible()
    wait_for_part(page, card=False)
    page.get_by_test_id("next").click()
    expect(page.locator(".enrol-status")).to_have_text(
        "Thank you, your reference photo is saved.", timeout=15000
    )
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("step-id")).to_be_visible()
    expect(page.locator(".steps [data-step=id]")).to_have_attribute("data-status", "current")
    return page


def check_id(page: Page, *, keyboard: bool = False) -> float:
    """Holds the card up (waits for it), presses "Check my ID" (clicked, or Enter on the
    focused button) and waits for the decision on the page; returns the seconds from the
    press to the decision shown."""
    wait_for_part(page, card=True)
    button = page.get_by_test_id("next")
    with page.expect_response(lambda response: "/id-document" in response.url) as answer:
        started = time.perf_counter()
        if keyboard:
            expect(button).to_be_focused()  # still there after the last answer
            page.keyboard.press("Enter")
        else:
            button.click()
        expect(button).to_have_text("Reading your ID…", timeout=15000)  # a busy machine
        decided = page.locator(  # the lobby, the answer, or an error (then a check fails)
            "[data-testid=step-lobby], .id-status[data-tone]:not([data-tone='']), "
            "[data-step=id] .error:not([hidden])"
        )
        expect(decided).to_be_visible(timeout=30000)
        seconds = time.perf_counter() - started
    server = answer.value.json().get("timings_ms", {})  # the exam's check says them
    print(f"ID check: capture click -> decision shown {seconds * 1000:.0f} ms (server: {server})")
    return seconds


def barack(factory: Factory, proctor: User, **policy: object) -> Candidate:
    """Barack Obama on the roster of an exam that asks for an ID."""
    exam = factory.exam(policy={"id_check": True, **policy})
    candidate = factory.candidate(exam, proctor, name="Barack")
    candidate.name = "Barack Obama"  # the factory makes the email from the name
    factory.db.commit()
    return candidate


def test_an_id_held_to_the_camera_is_read_and_matched(
    own_card_browser: Browser, live_server: str, factory: Factory
) -> None:
    candidate = barack(factory, factory.user(Role.PROCTOR))
    register_reference(live_server, factory, candidate, "id_obama_1.jpg")
    page = to_id_step(own_card_browser, live_server, candidate)
    assert blocking_violations(page) == []

    # A file that is not a photo is refused on the page, before anything is sent.
    page.locator("details.id-upload summary").click()
    page.get_by_test_id("id-file").set_input_files(
        files=[{"name": "passport.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}]
    )
    expect(page.locator("[data-step=id] .error")).to_have_text(
        '"passport.pdf" is not a JPEG or PNG photo. Please choose a photo of your ID in one '
        "of these formats."
    )
    factory.db.expire_all()
    session = sessions.latest_for_candidate(db=factory.db, candidate_id=candidate.id)
    assert session is not None
    assert CheckIn.of(session.checkin).id_document is None
    # The photo matched the reference, but the exam waits for the ID before admitting.
    assert session.state is SessionState.CHECKING

    check_id(page)
    status = page.get_by_test_id("id-status")
    expect(status).to_have_text("Thank you, your ID was checked. Press Continue.")
    expect(page.locator("[data-step=id] .error")).to_be_hidden()
    assert blocking_violations(page) == []
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("step-intro")).to_be_visible()

    factory.db.expire_all()
    factory.db.refresh(session)
    assert session.state is SessionState.ENROLLED
    checkin = CheckIn.of(session.checkin)
    assert checkin.admission is Admission.ADMITTED
    assert "the ID's photo matches the live face" in (checkin.reason or ""), checkin.reason
    record = checkin.id_document
    assert record is not None
    assert record.passed
    assert record.compared_with == "enrolment"
    assert record.distance is not None
    assert record.distance <= record.max_distance
    assert "OBAMA" in record.name_lines
    print(f"ID portrait to live face (same person): {record.distance:.3f}")


def test_another_name_on_the_id_waits_in_the_lobby_and_the_proctor_admits(
    other_name_browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    candidate = barack(factory, proctor, enrol_attempts=2)
    wall = wall_page(other_name_browser, live_server, proctor, candidate.exam_id)
    page = to_id_step(other_name_browser, live_server, candidate)

    # The first try: the name is not found, so the candidate is asked to hold it closer.
    check_id(page)
    expect(page.get_by_test_id("id-status")).to_have_text(
        'We cannot read your name on the ID. Hold it closer, without glare. Then press "Check '
        'my ID" again.'
    )
    expect(page.get_by_test_id("next")).to_have_text("Check my ID")
    expect(wall.get_by_test_id("lobby")).to_be_hidden()
    # The exam's second (enrol_attempts) try in a row, from the keyboard: a proctor will help.
    check_id(page, keyboard=True)
    expect(page.get_by_test_id("step-lobby")).to_be_visible()
    expect(page.locator(".lobby-help")).to_be_visible()

    expect(wall.get_by_test_id("lobby-alert")).to_contain_text(
        "Barack Obama is waiting in the lobby: 2 ID photos refused"
    )
    entry = wall.get_by_test_id("lobby-entry")
    expect(entry).to_have_count(1)
    for figure in (".lobby-live img", ".lobby-id img"):
        expect(entry.locator(figure)).to_have_js_property("complete", True)
        assert entry.locator(figure).evaluate("image => image.naturalWidth") > 0
    expect(entry.locator(".lobby-reference")).to_contain_text("No reference photo")
    expect(entry.get_by_test_id("lobby-id-distance")).to_contain_text(
        "(same person at ≤ 0.50): matches"
    )
    expect(entry.get_by_test_id("lobby-id-name")).to_contain_text("not found; read:")
    expect(entry.get_by_test_id("lobby-id-name")).to_contain_text("BIDEN")
    # The lobby card (the wall's tiles are not this step's: see the report).
    assert blocking_violations(wall, within=["[data-testid=lobby]"]) == []

    entry.get_by_test_id("lobby-note").fill("Name differs: married name, checked on camera")
    entry.get_by_test_id("lobby-admit").click()
    expect(page.get_by_test_id("step-intro")).to_be_visible()
    factory.db.expire_all()
    session = sessions.latest_for_candidate(db=factory.db, candidate_id=candidate.id)
    assert session is not None
    assert session.state is SessionState.ENROLLED
    record = CheckIn.of(session.checkin).id_document
    assert record is not None
    assert not record.name_matched
    assert record.face_matched
    assert record.distance is not None
    print(f"ID portrait to live face (same person, other name): {record.distance:.3f}")


def test_the_practice_run_tries_an_uploaded_id_and_keeps_nothing(
    own_card_browser: Browser, live_server: str, factory: Factory, maker: CardMaker
) -> None:
    held = Image.open(io.BytesIO(maker.held("id_obama_1.jpg", "Barack Hussein", "Obama")))
    out = io.BytesIO()
    held.save(out, "PNG")
    card_png = out.getvalue()
    candidate = barack(factory, factory.user(Role.PROCTOR))
    page = own_card_browser.new_context(base_url=live_server).new_page()
    page.goto(f"/practice/{candidate.invite_token}")
    passed = page.locator("[data-check]:is([data-status=ok], [data-status=warn])")
    expect(passed).to_have_count(5, timeout=15000)
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("step-practice-photo")).to_be_visible()
    wait_for_part(page, card=False)
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("step-id")).to_be_visible(timeout=15000)
    assert blocking_violations(page) == []

    # A photo of the ID (taken with a phone: the card held up, as a PNG) is uploaded instead.
    page.locator("details.id-upload summary").click()
    with page.expect_response(lambda response: "/practice/id-document" in response.url) as sent:
        page.get_by_test_id("id-file").set_input_files(
            files=[{"name": "my-id.png", "mimeType": "image/png", "buffer": card_png}]
        )
    assert sent.value.request.headers["content-type"] == "image/png"
    expect(page.get_by_test_id("id-status")).to_have_text(
        "Your ID can be read: we found your name and your photo on it. Press Continue.",
        timeout=30000,
    )
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("practice-done")).to_contain_text("your ID can be read")
    factory.db.expire_all()
    assert factory.db.scalar(select(StoredObject.id)) is None  # no ID image, no photo kept
