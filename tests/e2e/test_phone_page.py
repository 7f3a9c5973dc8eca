"""The phone simulator page (the stand-in's /) in headless Chromium, against the
running stack: a chat message shows up in the right phone's thread, and a reply
typed into that phone reaches the chat backend."""

from playwright.sync_api import expect

from devstack.demo import BOB_PICTURE

FRANK = "+14155550146"
OTHER = "+14155550147"


def test_a_chat_message_appears_on_the_right_phone_and_a_typed_reply_reaches_the_chat(stack, browser):
    stack.verified_user("frank", FRANK)
    stack.verified_user("ivy", OTHER)
    session = stack.open_session("frank", "hank", "Hank")
    pool_number = session["pool_number"]

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(stack.standin_url + "/")
        expect(page.locator("#live-text")).to_have_text("live")
        stack.send(session["session_id"], "Joining the standup?")

        frank = page.locator(f'.phone[data-phone="{FRANK}"]')
        bubble = frank.locator(".bubble-row.received", has_text="Joining the standup?")
        expect(bubble.locator(".bubble")).to_have_text("Hank: Joining the standup?", timeout=15_000)
        pretty = f"+1 ({pool_number[2:5]}) {pool_number[5:8]}-{pool_number[8:]}"
        expect(bubble.locator(".label")).to_have_text(f"from {pretty}")
        other = page.locator(f'.phone[data-phone="{OTHER}"]')
        expect(other).to_have_count(1)
        expect(other.get_by_text("Joining the standup?")).to_have_count(0)
        # The pool numbers and the outbound queue are on the page too.
        expect(page.locator("#pool li")).to_have_count(len(stack.pool))
        expect(page.locator("#queue")).to_have_text("0")

        # Reply from frank's phone: the page picks the number the last SMS came from.
        expect(frank.locator(".composer select")).to_have_value(pool_number)
        frank.locator("input[type=text]").fill("Yes, two minutes")
        frank.get_by_role("button", name="Send").click()
        expect(frank.locator(".result")).to_have_text("delivered to the bridge (200)")
        event = stack.wait_for_event(
            lambda e: e["type"] == "message.received" and e["text"] == "Yes, two minutes",
            "the typed reply at the chat receiver",
        )
        assert (event["session_id"], event["user_id"], event["partner_id"]) == (session["session_id"], "frank", "hank")
        expect(frank.locator(".bubble-row.sent .bubble").last).to_have_text("Yes, two minutes")
    finally:
        page.close()


PICTURE = BOB_PICTURE  # a 1x1 PNG
GRACE = "+14155550148"


def test_a_picture_each_way_on_the_phone_page(stack, browser, tmp_path):
    import requests

    stack.verified_user("grace", GRACE)
    session = stack.open_session("grace", "heidi", "Heidi")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(stack.standin_url + "/")
        expect(page.locator("#live-text")).to_have_text("live")
        upload = stack.call("POST", "/media", {"content_type": "image/png", "size": len(PICTURE)}, expect=201).json()
        assert requests.put(upload["upload_url"], data=PICTURE, headers=upload["upload_headers"], timeout=15).ok
        stack.call(
            "POST",
            f"/sessions/{session['session_id']}/messages",
            {"text": "A picture", "media_ids": [upload["media_id"]]},
            expect=202,
        )

        grace = page.locator(f'.phone[data-phone="{GRACE}"]')
        picture = grace.locator(".bubble-row.received", has_text="A picture").locator("img.picture")
        expect(picture).to_have_count(1, timeout=15_000)
        assert requests.get(stack.standin_url + picture.get_attribute("src"), timeout=15).content == PICTURE
        assert picture.evaluate("image => image.complete && image.naturalWidth") == 1

        # Grace sends one back from the page: it reaches the chat as the bridge's own URL.
        sent = tmp_path / "mine.png"
        sent.write_bytes(PICTURE)
        expect(grace.locator(".composer select")).to_have_value(session["pool_number"])
        grace.locator("input[type=file]").set_input_files(str(sent))
        grace.get_by_role("button", name="Send").click()
        expect(grace.locator(".result")).to_have_text("delivered to the bridge (200)")
        event = stack.wait_for_event(
            lambda e: e["type"] == "message.received" and e.get("media"), "the picture at the chat receiver"
        )
        assert event["session_id"] == session["session_id"] and "twilio" not in event["media"][0]["url"]
        assert requests.get(event["media"][0]["url"], timeout=15).content == PICTURE
        expect(grace.locator(".bubble-row.sent img.picture")).to_have_count(1)
    finally:
        page.close()


JUDY = "+14155550159"


def test_a_phone_set_to_landline_on_the_page_is_refused_at_hook_up(stack, browser):
    import requests

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(stack.standin_url + "/")
        expect(page.locator("#live-text")).to_have_text("live")
        page.locator("#add-phone-number").fill(JUDY)
        page.locator("#add-phone button").click()
        judy = page.locator(f'.phone[data-phone="{JUDY}"]')
        expect(judy.locator("select.line-type")).to_have_value("mobile")  # make run's phones are mobile
        judy.locator("select.line-type").select_option("landline")

        def line_type() -> str | None:
            phones = requests.get(f"{stack.standin_url}/_standin/phones", timeout=15).json()["phones"]
            return next((p["line"]["line_type"] for p in phones if p["phone"] == JUDY), None)

        stack.wait_for(lambda: line_type() == "landline", "the page's line type at the stand-in")
        refused = stack.call("PUT", "/users/judy/phone", {"phone": JUDY}, expect=400).json()
        assert refused["error"]["code"] == "invalid_phone" and "landline" in refused["error"]["message"]
        assert stack.sms(to=JUDY) == []
    finally:
        page.close()
