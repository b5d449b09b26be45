"""Check-in in Chromium, with real faces on the fake webcam: a candidate whose live face matches
their reference photo goes straight on; one whose reference shows another person (two real
people from the clean fixtures) waits in the lobby until a proctor admits them from the wall;
a candidate whose camera shows no face reaches the proctor after the exam's number of tries
and is admitted by hand. The candidate's page hears the decision on its lobby socket."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from openproctor.domains.candidates.models import Candidate
from openproctor.domains.checkin.models import CheckIn
from openproctor.domains.sessions import service as sessions
from openproctor.domains.sessions.models import SessionState
from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.pages import sign_in
from tests.web.test_proctor_wall import signed_in, wall_page
from tests.web.webcam import FIXTURES, LIT_GROUND, write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.analysis]


def camera_browser(playwright: Playwright, video: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )


@pytest.fixture(scope="module")
def obama_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    target = tmp_path_factory.mktemp("webcam") / "obama.y4m"
    video = write_y4m([("id_obama_2.jpg", 5)], target, ground=LIT_GROUND)
    browser = camera_browser(playwright, str(video))
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def faceless_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = write_y4m([("noface_coffee.jpg", 5)], tmp_path_factory.mktemp("webcam") / "cup.y4m")
    browser = camera_browser(playwright, str(video))
    yield browser
    browser.close()


def register_reference(live_server: str, factory: Factory, candidate: Candidate, name: str) -> None:
    """An admin registers the candidate's reference photo over the API."""
    with httpx2.Client(base_url=live_server) as http:
        csrf = signed_in(http, factory.user(Role.ADMIN))
        response = http.put(
            f"/api/v1/candidates/{candidate.id}/reference-photo",
            files={"photo": (name, (FIXTURES / name).read_bytes(), "image/jpeg")},
            headers=csrf,
        )
        assert response.status_code == 200, response.text


def take_photo(browser: Browser, live_server: str, candidate: Candidate) -> Page:
    """The candidate's page from the invite link to pressing "Take my photo"."""
    page = browser.new_context(base_url=live_server).new_page()
    page.goto(f"/take/{candidate.invite_token}")
    page.get_by_test_id("consent").check()
    page.get_by_test_id("next").click()
    passed = page.locator("[data-check]:is([data-status=ok], [data-status=warn])")
    expect(passed).to_have_count(5, timeout=15000)
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("step-enrol")).to_be_visible()
    page.get_by_test_id("next").click()
    return page


def test_a_matching_face_goes_on_and_another_person_waits_for_the_proctor(
    obama_browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor, name="Ada")
    bob = factory.candidate(exam, proctor, name="Bob")
    register_reference(live_server, factory, ada, "id_obama_1.jpg")  # the person on camera
    register_reference(live_server, factory, bob, "id_biden_1.jpg")  # someone else
    wall = wall_page(obama_browser, live_server, proctor, exam.id)
    lobby = wall.get_by_test_id("lobby")
    expect(lobby).to_be_hidden()

    matching = take_photo(obama_browser, live_server, ada)
    expect(matching.locator(".enrol-status")).to_have_text(
        "Thank you, your reference photo is saved.", timeout=15000
    )
    matching.get_by_test_id("next").click()
    expect(matching.get_by_test_id("step-intro")).to_be_visible()

    impostor = take_photo(obama_browser, live_server, bob)
    expect(impostor.get_by_test_id("step-lobby")).to_be_visible(timeout=15000)
    expect(impostor.locator(".lobby-text")).to_have_text("A proctor will admit you shortly.")
    expect(impostor.locator(".lobby-help")).to_be_hidden()

    # The wall: Bob at the top, reference and live face side by side, with the distance.
    expect(lobby).to_be_visible()
    entry = wall.get_by_test_id("lobby-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Bob")
    expect(entry.get_by_test_id("lobby-reason")).to_contain_text("does not match the reference")
    expect(entry.get_by_test_id("lobby-distance")).to_contain_text("(same person at ≤ 0.50)")
    for figure in (".lobby-reference img", ".lobby-live img"):
        expect(entry.locator(figure)).to_have_js_property("complete", True)
        assert entry.locator(figure).evaluate("image => image.naturalWidth") > 0
    entry.get_by_test_id("lobby-note").fill("checked the ID on camera")
    entry.get_by_test_id("lobby-admit").click()
    expect(lobby).to_be_hidden()

    # The candidate's page hears it on its lobby socket and goes on.
    expect(impostor.get_by_test_id("step-intro")).to_be_visible()
    factory.db.expire_all()
    session = sessions.latest_for_candidate(db=factory.db, candidate_id=bob.id)
    assert session is not None
    assert session.state is SessionState.ENROLLED
    checkin = CheckIn.of(session.checkin)
    assert checkin.decided_by == proctor.email
    assert checkin.reason == "checked the ID on camera"


def test_a_proctor_asks_for_a_new_photo_and_then_rejects_with_a_reason(
    obama_browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    bob = factory.candidate(exam, proctor, name="Bob")
    register_reference(live_server, factory, bob, "id_biden_1.jpg")
    wall = wall_page(obama_browser, live_server, proctor, exam.id)
    page = take_photo(obama_browser, live_server, bob)
    expect(page.get_by_test_id("step-lobby")).to_be_visible(timeout=15000)

    entry = wall.get_by_test_id("lobby-entry")
    entry.get_by_test_id("lobby-note").fill("Please take off your glasses")
    entry.get_by_test_id("lobby-retry").click()
    expect(page.get_by_test_id("step-enrol")).to_be_visible()
    expect(page.get_by_test_id("enrol-note")).to_have_text(
        "Your proctor asks: Please take off your glasses"
    )
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("step-lobby")).to_be_visible(timeout=15000)

    entry.get_by_test_id("lobby-note").fill("The face does not match the registered photo")
    entry.get_by_test_id("lobby-reject").click()
    expect(page.get_by_test_id("exam-terminated")).to_be_visible()
    expect(page.locator(".end-reason")).to_contain_text(
        "not admitted: The face does not match the registered photo"
    )


def test_a_candidate_without_a_face_reaches_the_proctor_and_is_admitted_by_hand(
    faceless_browser: Browser, live_server: str, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(policy={"enrol_attempts": 3})
    ada = factory.candidate(exam, proctor, name="Ada")
    wall = wall_page(faceless_browser, live_server, proctor, exam.id)

    page = take_photo(faceless_browser, live_server, ada)
    expect(page.locator(".enrol-status")).to_contain_text("We cannot see your face", timeout=15000)
    expect(page.get_by_test_id("step-lobby")).to_be_visible(timeout=20000)
    expect(page.locator(".lobby-help")).to_be_visible()

    expect(wall.get_by_test_id("lobby-alert")).to_contain_text(
        "Ada is waiting in the lobby: 3 enrolment photos refused"
    )
    entry = wall.get_by_test_id("lobby-entry")
    expect(entry.locator(".lobby-reference")).to_contain_text("No reference photo")
    expect(entry.locator(".lobby-live img")).to_be_visible()
    entry.get_by_test_id("lobby-reject").click()  # a rejection needs a reason
    expect(entry.locator(".lobby-status")).to_have_text(
        "Write the reason first: the candidate sees it."
    )
    entry.get_by_test_id("lobby-admit").click()
    expect(page.get_by_test_id("step-intro")).to_be_visible()
    factory.db.expire_all()
    session = sessions.latest_for_candidate(db=factory.db, candidate_id=ada.id)
    assert session is not None
    assert session.state is SessionState.ENROLLED


def test_an_admin_imports_the_rosters_reference_photos_as_a_zip(
    browser: Browser, live_server: str, factory: Factory, tmp_path: Path
) -> None:
    exam = factory.exam()
    ada = factory.candidate(exam, name="Ada")
    page = browser.new_context(base_url=live_server).new_page()
    sign_in(page, factory.user(Role.ADMIN))
    page.goto(f"/admin/exams/{exam.id}")

    def send(files: dict[str, str]) -> None:
        archive = tmp_path / "photos.zip"
        with zipfile.ZipFile(archive, "w") as out:
            for name, fixture in files.items():
                out.write(FIXTURES / fixture, name)
        page.get_by_test_id("photos-file").set_input_files(archive)
        page.get_by_test_id("import-photos").click()

    send({f"{ada.email}.jpg": "fr_two_people.jpg"})
    expect(page.get_by_test_id("photo-errors")).to_contain_text(
        f"{ada.email}.jpg: the photo shows 2 faces"
    )
    send({f"{ada.email}.jpg": "id_obama_1.jpg"})
    expect(page.get_by_test_id("notice")).to_have_text("Registered 1 reference photos")
    photo = page.get_by_test_id("candidates").get_by_role("link", name="yes")
    expect(photo).to_have_attribute("href", f"/api/v1/candidates/{ada.id}/reference-photo")
