"""The browser page, driven in headless Chromium: it sets keys (seen over gRPC) and shows
events caused over gRPC as they happen."""
import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from proxy import CuttableProxy

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def page():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(15000)
        yield page
        browser.close()


def test_page_sets_keys_and_shows_live_events(server, page, output_dir):
    page.goto(server.http + "/ui/?client_id=browser")
    expect(page.locator("#status")).to_have_text("live")

    # Set a key in the page; it is there over gRPC.
    page.fill("#set-key", "from-browser")
    page.fill("#set-value", "hello from the page")
    page.click("#set-submit")
    expect(page.locator("#message")).to_have_text("created from-browser")
    result = server.client("get", "from-browser")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello from the page"
    expect(page.locator("#key-list li", has_text="from-browser")).to_be_visible()

    # Set a key over gRPC; its event appears in the page, and the key in the list.
    assert server.client("set", "from-grpc", "hi", client_id="grpc-user").returncode == 0
    expect(page.locator('#event-list li[data-type="CREATED"][data-key="from-grpc"]')).to_contain_text("grpc-user")
    expect(page.locator("#key-list li", has_text="from-grpc")).to_be_visible()

    # An image set over gRPC renders as an image.
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2"
        "21bc330000000049454e44ae426082")
    assert server.client("set", "pixel", stdin=png).returncode == 0
    page.locator("#key-list li", has_text="pixel").click()
    expect(page.locator("#preview img")).to_be_visible()
    expect(page.locator("#meta")).to_contain_text("image/png")

    # Delete from the page; gone over gRPC.
    page.locator("#key-list li", has_text="from-browser").click()
    expect(page.locator("#value-text")).to_have_text("hello from the page")
    page.click("#delete")
    expect(page.locator("#key-list li", has_text="from-browser")).to_have_count(0)
    assert server.client("get", "from-browser").returncode == 1
    page.screenshot(path=str(output_dir / "ui.png"), full_page=True)


def test_event_source_resumes_with_last_event_id(server, page):
    host, port = server.http.removeprefix("http://").rsplit(":", 1)
    proxy = CuttableProxy(host, int(port))
    try:
        page.goto(f"http://127.0.0.1:{proxy.port}/ui/?client_id=resumer")
        expect(page.locator("#status")).to_have_text("live")
        assert server.client("set", "before", "1").returncode == 0
        expect(page.locator('#event-list li[data-key="before"]')).to_have_count(1)
        # Cut the stream and write while the page is away (it waits `retry: 2000` ms).
        proxy.cut()
        expect(page.locator("#status")).to_have_text("reconnecting…")
        assert server.client("set", "while-away", "1").returncode == 0
        # The browser reconnects by itself, sending Last-Event-ID; the missed event is replayed.
        expect(page.locator("#status")).to_have_text("live", timeout=20000)
        expect(page.locator('#event-list li[data-key="while-away"][data-type="CREATED"]')).to_have_count(1)
        expect(page.locator('#event-list li[data-key="before"][data-type="CREATED"]')).to_have_count(1)
    finally:
        proxy.close()
