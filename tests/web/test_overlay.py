"""The detail view's detection overlay in Chromium: the candidate's fake webcam shows two
people (a clean fixture photo); the proctor opens the candidate and the canvas over the live
picture draws both faces, from the analysis of the very frame on screen; toggled off, nothing
is drawn, and the choice is remembered after a reload. On live video the newest result is
drawn and fades once no newer one follows."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, expect

from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.test_proctor_wall import running_exam_page, wall_page
from tests.web.webcam import write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.analysis]

# The number of pixels the overlay painted (any alpha).
PAINTED = """canvas => {
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
    return painted;
}"""


@pytest.fixture(scope="module")
def two_people_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = write_y4m([("fr_two_people.jpg", 5)], tmp_path_factory.mktemp("webcam") / "two.y4m")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )
    yield browser
    browser.close()


def painted(overlay: Locator) -> int:
    count: int = overlay.evaluate(PAINTED)
    return count


def watching(
    two_people_browser: Browser, browser: Browser, live_server: str, factory: Factory
) -> tuple[Page, Page]:
    """The candidate's exam running, and the proctor's detail view of them: (staff, candidate)."""
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam(policy={"require_fullscreen": False})
    ada = factory.candidate(exam, proctor, name="Ada")
    candidate = running_exam_page(two_people_browser, live_server, factory, ada)
    staff = wall_page(browser, live_server, proctor, exam.id)
    tile = staff.get_by_test_id("candidate-tile")
    expect(tile).to_have_attribute("data-connected", "yes")
    expect(staff.get_by_test_id("tile-attention")).to_be_visible(timeout=20_000)
    tile.click()
    return staff, candidate


def test_overlays_appear_for_a_two_face_scene_and_not_when_toggled_off(
    two_people_browser: Browser, browser: Browser, live_server: str, factory: Factory
) -> None:
    staff, candidate = watching(two_people_browser, browser, live_server, factory)
    overlay = staff.get_by_test_id("overlay")
    expect(overlay).to_have_attribute("data-faces", "2", timeout=20_000)
    expect(overlay).to_be_visible()
    assert painted(overlay) > 500
    # Only the detections are drawn: the picture under them is not dimmed or padded.
    assert overlay.evaluate("c => getComputedStyle(c).backgroundColor") == "rgba(0, 0, 0, 0)"
    assert overlay.evaluate("c => getComputedStyle(c).paddingTop") == "0px"
    # The JPEG on screen is drawn with its own frame's analysis.
    expect(overlay).not_to_have_attribute("data-ts-ms", "")
    expect(staff.get_by_test_id("detail-attention")).to_have_text(
        re.compile(r"(focused|distracted|away) · attention \d+")
    )

    toggle = staff.get_by_test_id("overlay-toggle")
    toggle.uncheck()
    expect(overlay).to_be_hidden()
    expect(overlay).to_have_attribute("data-faces", "0")
    assert painted(overlay) == 0

    staff.reload()  # the choice is remembered
    expect(staff.get_by_test_id("live")).to_have_attribute("data-state", "live")
    staff.get_by_test_id("candidate-tile").click()
    expect(staff.get_by_test_id("live-frame")).to_have_attribute("src", re.compile("^blob:"))
    expect(toggle).not_to_be_checked()
    staff.wait_for_timeout(2000)  # a few analysed frames arrive
    expect(overlay).to_have_attribute("data-faces", "0")
    assert painted(overlay) == 0

    toggle.check()
    expect(overlay).to_have_attribute("data-faces", "2", timeout=10_000)
    assert painted(overlay) > 500
    staff.context.close()
    candidate.context.close()


# A live stream where the detail view shows one: a <video class="live-video"> in the same
# .live area, playing a canvas (the live-media pages put the candidate's WebRTC track there).
PLAY_A_STREAM = """live => {
    const source = document.createElement("canvas");
    source.width = 640;
    source.height = 376;
    source.getContext("2d").fillRect(0, 0, 640, 376);
    const video = document.createElement("video");
    video.className = "live-video";
    video.muted = true;
    video.srcObject = source.captureStream(5);
    live.append(video);
    return video.play().then(() => video.videoWidth);
}"""


def test_on_live_video_the_newest_analysis_is_drawn_and_fades_when_none_follows(
    two_people_browser: Browser, browser: Browser, live_server: str, factory: Factory
) -> None:
    staff, candidate = watching(two_people_browser, browser, live_server, factory)
    overlay = staff.get_by_test_id("overlay")
    expect(overlay).to_have_attribute("data-faces", "2", timeout=20_000)
    assert staff.locator("#detail .live").evaluate(PLAY_A_STREAM) == 640
    staff.wait_for_timeout(1000)
    expect(overlay).to_have_attribute("data-faces", "2")  # drawn on the video, newest first
    assert painted(overlay) > 500
    candidate.context.close()  # no more analysis: what is drawn fades and goes within 3 s
    expect(overlay).to_have_attribute("data-faces", "0", timeout=6_000)
    assert painted(overlay) == 0
    staff.context.close()
