"""A real headless Chromium (Debian's) drives the app like a person: every tab, screenshots.

Screenshots go to ``$BGTAI_SCREENSHOTS`` (default ``test-artifacts/screenshots``); the README's
pictures are made with ``BGTAI_SCREENSHOTS=docs/img python -m pytest tests/test_browser.py``.
"""

from __future__ import annotations

import os
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
        page.get_by_role("tab", name="Alignment").wait_for()
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
    open_tab(page, "Alignment")
    open_tab(page, "Two texts")
    page.get_by_role("button", name="Align the texts").click()
    page.get_by_text("mean cost per step").first.wait_for()
    # the gloss of the default sentence was filled in as text B
    assert "CHILD" in page.get_by_label("Text B (leave empty to use the gloss of A)").input_value()
    assert shot(page, "alignment_texts").stat().st_size > 10_000


def test_alignment_tab_microphone_and_upload(page, sound_files):
    open_tab(page, "Alignment")
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
    page.get_by_text("CHILD BE PLAY IN GARDEN").first.wait_for()  # the rule gloss line
    assert shot(page, "gloss_text").stat().st_size > 10_000
