"""A real headless Chromium (Debian's) drives the app like a person: every tab, screenshots.

Screenshots go to ``$BGTAI_SCREENSHOTS`` (default ``test-artifacts/screenshots``); the README's
pictures are made with
``BGTAI_SCREENSHOTS=docs/img/screenshots BGTAI_TEST_MODELS=bundled python -m pytest tests/test_browser.py``
(the bundled checkpoints instead of the tiny random ones).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                 "(bash scripts/install.sh --dev installs it)")]

SHOTS = Path(os.environ.get("BGTAI_SCREENSHOTS", "test-artifacts/screenshots"))
TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def page(app_url, sound_files):
    """One browser page on the app; the fake microphone plays the slow sweep."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={sound_files['slow']}"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      permissions=["microphone"])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app_url)
        page.get_by_role("tab", name="Alignment lab").wait_for()
        yield page
        browser.close()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_tab(page, name: str):
    page.get_by_role("tab", name=name, exact=True).first.click()


def test_alignment_tab_texts(page):
    open_tab(page, "Alignment lab")
    open_tab(page, "Sentence and gloss")
    page.get_by_role("button", name="Align the texts").click()
    page.locator("#align-text-summary").get_by_text("SP-Loss").wait_for()
    # the gloss of the default sentence was filled in as text B
    assert "CHILD" in page.get_by_label("Text B (leave empty to use the gloss of A)").input_value()
    assert shot(page, "alignment_texts").stat().st_size > 10_000


def test_alignment_tab_microphone_and_upload(page, sound_files):
    open_tab(page, "Alignment lab")
    open_tab(page, "Two sounds")
    # sound A from the (fake) microphone: Chromium plays the slow sweep as the mic input
    mic = page.locator("#align-sound-a")
    mic.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_timeout(2000)
    mic.get_by_role("button", name="Stop").first.click()
    mic.get_by_role("button", name="Play", exact=True).wait_for()  # the recording is in
    # sound B uploaded from a file
    upload = page.locator("#align-sound-b")
    upload.get_by_role("button", name="Upload file").click()
    upload.locator("input[type=file]").set_input_files(str(sound_files["fast"]))
    page.get_by_role("button", name="Align the sounds").click()
    page.locator("#align-summary").get_by_text("sound B frames length").wait_for()
    summary = page.locator("#align-summary").inner_text()
    assert "sound B frames length\t51" in summary  # the uploaded 1 s sweep: 51 frames of 20 ms
    assert shot(page, "alignment_sounds").stat().st_size > 10_000


def test_gloss_tab_text(page):
    open_tab(page, "Language -> Gloss")
    box = page.locator("#gloss-text textarea")
    box.fill("The children are playing in the garden.")
    page.get_by_role("button", name="Gloss the text").click()
    main = page.locator("#gloss-main textarea")
    # the main gloss, the better path's (the rules'), and the model's beside it
    sync_api.expect(main).to_have_value("CHILD BE PLAY IN GARDEN .", timeout=TIMEOUT_MS)
    page.locator("#gloss-info").get_by_text("the better of the two").wait_for()  # which path
    # the colours' legend, from the surest to the least sure
    legend = page.locator("#gloss-tokens")
    for label in ("sure (90 % or more)", "guessing (under 40 %)"):
        assert legend.get_by_text(label, exact=True).first.is_visible()
    assert shot(page, "gloss_text").stat().st_size > 10_000


def test_gloss_tab_hostile_text_gets_a_note_and_enter_submits(page):
    open_tab(page, "Language -> Gloss")
    box = page.locator("#gloss-text textarea")
    box.fill("\x1b[31mhello world\x1b[0m")
    box.press("Enter")  # Enter glosses: no button needed
    main = page.locator("#gloss-main textarea")
    sync_api.expect(main).to_have_value("HELLO WORLD", timeout=TIMEOUT_MS)
    note = page.locator("#gloss-note")
    note.get_by_text("terminal escape sequences").wait_for()


def test_alignment_tab_world_clip(page):
    open_tab(page, "Alignment lab")
    open_tab(page, "World clip: sound vs frames")
    page.get_by_role("button", name="Show the clip").click()
    page.locator("#clip-summary").get_by_text("DS-Net selected pairs that are true").wait_for()
    page.locator("#clip-frames img").wait_for()
    assert shot(page, "alignment_clip").stat().st_size > 10_000


def test_sound_to_image_tab(page, sound_files):
    open_tab(page, "Sound -> Image")
    # the sound from the (fake) microphone
    mic = page.locator("#image-sound")
    mic.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_timeout(2000)
    mic.get_by_role("button", name="Stop").first.click()
    mic.get_by_role("button", name="Play", exact=True).wait_for()
    page.get_by_role("button", name="Make the picture").click()
    picture = page.locator("#image-output img")
    picture.wait_for()
    heard = page.locator("#image-heard")
    heard.get_by_text("Heard:").wait_for()  # the class the model hears, beside the picture
    said = heard.inner_text().split("Caption")[0]  # the caption below follows the edited sound
    # the note says how far each slider moves the picture for this sound (its class's range)
    gain_lo, gain_hi = map(float, re.search(r"volume slider from ([-+\d]+) to ([-+\d]+) dB", said).groups())
    shift = re.search(r"frequency slider from ([-+.\d]+) to ([-+.\d]+) semitones", said)
    shift_lo, shift_hi = map(float, shift.groups()) if shift else (0.0, 0.0)  # unpitched: none
    first = picture.get_attribute("src")
    # typing a value inside the range and Enter, no button: the picture follows the slider
    gain = page.locator("#image-gain input[type=number]")
    gain.fill(str(round(gain_lo / 2) if -gain_lo > gain_hi else round(gain_hi / 2)))
    gain.press("Enter")
    page.wait_for_function("src => document.querySelector('#image-output img')?.src !== src", arg=first)
    page.wait_for_function("s => document.querySelector('#image-heard').innerText.split('Caption')[0] === s", arg=said)
    # dragging the frequency slider to the end with room in the range: a new picture for a
    # pitched class, the same one for an unpitched class (one colour in the world); the same
    # class heard either way (it is the unedited sound's)
    second = picture.get_attribute("src")
    plots = page.locator("#image-plots img").get_attribute("src")  # new with every response
    box = page.locator("#image-semitones input[type=range]").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    end = box["x"] + box["width"] - 1 if shift_hi >= -shift_lo else box["x"] + 1
    page.mouse.move(end, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    page.wait_for_function("src => document.querySelector('#image-plots img')?.src !== src", arg=plots)
    page.wait_for_function("s => document.querySelector('#image-heard').innerText.split('Caption')[0] === s", arg=said)
    assert (picture.get_attribute("src") != second) == (max(shift_hi, -shift_lo) >= 0.5), said
    assert page.locator("#image-world img").count() == 11  # the world's objects
    assert shot(page, "sound_to_image").stat().st_size > 10_000


def test_sound_to_image_from_words(page):
    open_tab(page, "Sound -> Image")
    open_tab(page, "From words")
    page.get_by_role("button", name="Picture from the text").click()
    note = page.locator("#image-gloss")
    # this answer's gloss, not the caption beside the picture (a click while it runs is ignored)
    note.get_by_text("DESC-LOUD").wait_for()
    page.locator("#image-text textarea").fill("The dog is barking")
    page.get_by_role("button", name="Picture from the text").click()
    note.get_by_text("No picture").wait_for()  # a note, not an empty background
    assert "whistle" in note.inner_text()
    # a spoken example (a synthetic voice) chooses the shared path; a visitor's own recording
    # or file goes back to the recogniser
    from app.tab_gloss import DEFAULT_SPEECH_CHOICE
    from app.tab_image import SHARED_CHOICE

    checked = page.locator("#image-speech-path input[type=radio]:checked")
    page.locator("text=speech_0.wav >> visible=true").first.click()
    page.wait_for_function("() => document.querySelector('#image-speech-path input:checked')"
                           f".value === {SHARED_CHOICE!r}")
    upload = page.locator("#image-speech")
    upload.get_by_role("button", name="Clear").first.click()
    upload.get_by_role("button", name="Upload file").click()
    upload.locator("input[type=file]").set_input_files("assets/examples/speech_1.wav")
    page.wait_for_function("() => document.querySelector('#image-speech-path input:checked')"
                           f".value === {DEFAULT_SPEECH_CHOICE!r}")
    assert checked.get_attribute("value") == DEFAULT_SPEECH_CHOICE
    open_tab(page, "From a sound")


def test_about_tab(page):
    open_tab(page, "About")
    page.get_by_text("Profiles").first.wait_for()
    limits = page.locator("#about-limits")
    assert limits.get_by_text("What it can and cannot do").is_visible()
    assert limits.get_by_text("hear every word you say").is_visible()
    assert shot(page, "about").stat().st_size > 10_000


# failures last: their error notices would sit on the other tests' screenshots


def test_alignment_tab_failed_sound_clears_the_old_result(page, sound_files):
    open_tab(page, "Alignment lab")
    open_tab(page, "Two sounds")
    summary = page.locator("#align-summary")
    summary.get_by_text("sound B frames length").wait_for()  # an earlier test's result
    upload = page.locator("#align-sound-b")
    upload.get_by_role("button", name="Clear").first.click()
    upload.get_by_role("button", name="Upload file").click()
    upload.locator("input[type=file]").set_input_files(str(sound_files["silent"]))
    page.get_by_role("button", name="Align the sounds").click()
    page.get_by_text("the audio is silent").first.wait_for()
    summary.get_by_text("sound B frames length").wait_for(state="detached")


def test_gloss_tab_failed_speech_clears_the_text_result(page, sound_files):
    open_tab(page, "Language -> Gloss")
    page.locator("#gloss-text textarea").fill("I want a hot coffee.")
    page.get_by_role("button", name="Gloss the text").click()
    main = page.locator("#gloss-main textarea")
    sync_api.expect(main).to_have_value("X-I WANT DESC-HOT COFFEE .",
                                        timeout=TIMEOUT_MS)
    upload = page.locator("#gloss-speech")
    upload.get_by_role("button", name="Upload file").click()
    upload.locator("input[type=file]").set_input_files(str(sound_files["silent"]))
    page.get_by_role("button", name="Gloss the speech").click()
    page.get_by_text("the audio is silent").first.wait_for()  # the error message
    sync_api.expect(main).to_have_value("", timeout=TIMEOUT_MS)


def test_sound_to_image_failed_sound_clears_the_picture(page, sound_files):
    open_tab(page, "Sound -> Image")
    picture = page.locator("#image-output img")
    page.get_by_role("button", name="Make the picture").click()  # the sound the first test made
    picture.wait_for()
    upload = page.locator("#image-sound")
    upload.get_by_role("button", name="Clear").first.click()
    upload.get_by_role("button", name="Upload file").click()
    upload.locator("input[type=file]").set_input_files(str(sound_files["silent"]))
    page.get_by_role("button", name="Make the picture").click()
    page.get_by_text("the audio is silent").first.wait_for()
    picture.wait_for(state="detached")
    assert page.locator("#image-heard").inner_text().strip() == ""
