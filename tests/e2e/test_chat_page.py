"""The chat page (the chat receiver's /) in headless Chromium, against the running stack, with
the phone page beside it (issue 26, items 1 and 4): a user's partner types a message on the
chat page, its status moves to delivered, the SMS appears on the phone page, the reply typed
there lands in the right chat, and the signed events show as they arrive; a message that
fails shows its error and reason."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

NORA = "+14155550151"
ANSWERED = 15_000  # ms: queued -> sent -> delivered, and a reply through the bridge


def test_type_as_a_partner_see_the_sms_on_the_phone_and_the_reply_in_the_right_chat(stack, browser):
    stack.verified_user("nora", NORA)
    chat = browser.new_page(viewport={"width": 1400, "height": 860})
    phones = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        chat.goto(stack.summary["chat_page_url"] + "?user=nora")
        expect(chat.locator("#live-text")).to_have_text("live")
        expect(chat.locator("#phone-box")).to_contain_text("verified")
        for partner in ("Oscar", "Pia"):  # two chats of one user: two pool numbers
            chat.locator("#partner-name").fill(partner)
            chat.get_by_role("button", name="Chat", exact=True).click()
            expect(chat.locator(f'.chat-item[data-partner-id="{partner.lower()}"]')).to_have_count(1)
        sessions = {
            s["partner_id"]: s for s in stack.call("GET", "/users/nora/sessions", expect=200).json()["sessions"]
        }
        oscar = chat.locator('.chat-item[data-partner-id="oscar"]')
        expect(oscar).to_contain_text(f"via +1 ({sessions['oscar']['pool_number'][2:5]})")

        oscar.click()
        chat.get_by_label("message text").fill("Can you call me?")
        chat.get_by_role("button", name="Send").click()
        sent = chat.locator(".message.outbound", has_text="Can you call me?")
        expect(sent.locator(".status")).to_have_attribute("data-status", "delivered", timeout=ANSWERED)
        expect(chat.locator('#arrivals .arrival[data-type="message.status"]').first).to_contain_text("signature ok")

        phones.goto(stack.standin_url + "/")
        expect(phones.locator("#chat-link")).to_have_attribute("href", stack.summary["chat_page_url"])
        nora = phones.locator(f'.phone[data-phone="{NORA}"]')
        sms = nora.locator(".bubble-row.received", has_text="Can you call me?")
        expect(sms.locator(".bubble")).to_have_text("Oscar: Can you call me?", timeout=ANSWERED)

        chat.locator('.chat-item[data-partner-id="pia"]').click()  # looking at the other chat
        expect(nora.locator(".composer select")).to_have_value(sessions["oscar"]["pool_number"])
        nora.locator("input[type=text]").fill("Calling in 5")
        nora.get_by_role("button", name="Send").click()
        expect(nora.locator(".result")).to_have_text("delivered to the bridge (200)")

        expect(oscar.locator(".unread")).to_have_text("1", timeout=ANSWERED)  # it landed in Oscar's chat
        expect(chat.locator(".message")).to_have_count(0)  # not in Pia's
        received = chat.locator('#arrivals .arrival[data-type="message.received"]').first
        expect(received).to_contain_text("signature ok")
        expect(received).to_contain_text("Calling in 5")
        expect(received.locator(".header")).to_contain_text("X-Bridge-Signature: t=")
        oscar.click()
        reply = chat.locator(".message.inbound", has_text="Calling in 5")
        expect(reply.locator(".status")).to_have_attribute("data-status", "received")
        expect(oscar.locator(".unread")).to_have_count(0)
    finally:
        chat.close()
        phones.close()


def test_a_failed_message_shows_its_error_and_reason(stack, browser):
    phone = "+14155550152"
    stack.verified_user("quinn", phone)
    stack.open_session("quinn", "rhea", "Rhea")
    answer = requests.put(f"{stack.standin_url}/_standin/phones/{phone}", json={"unreachable": True}, timeout=10)
    assert answer.ok, answer.text
    chat = browser.new_page(viewport={"width": 1400, "height": 860})
    try:
        chat.goto(stack.summary["chat_page_url"] + "?user=quinn")
        chat.locator('.chat-item[data-partner-id="rhea"]').click()
        chat.get_by_label("message text").fill("Are you there?")
        chat.get_by_role("button", name="Send").click()
        status = chat.locator(".message.outbound", has_text="Are you there?").locator(".status")
        expect(status).to_have_attribute("data-status", "undelivered", timeout=ANSWERED)
        expect(status).to_contain_text("error 30003 phone unreachable")
    finally:
        chat.close()


def test_the_page_reaches_the_bridge_only_through_its_own_server(stack):
    """The token stays server-side: the page's calls carry none, and a call without the page's
    header (another site's page) or outside a chat backend's calls is refused."""
    base = stack.summary["chat_page_url"].rstrip("/")
    page = requests.get(base + "/", timeout=10).text
    assert stack.summary["api_token"] not in page and "Bearer" not in page
    forwarded = requests.get(f"{base}/chat/api/users/nobody-here/phone", headers={"X-Chat-Page": "1"}, timeout=10)
    assert (forwarded.status_code, forwarded.json()["error"]["code"]) == (404, "phone_not_found")
    bare = requests.get(f"{base}/chat/api/users/nobody-here/phone", timeout=10)
    assert (bare.status_code, bare.json()["error"]["code"]) == (403, "not_the_chat_page")
    admin = requests.get(f"{base}/chat/api/numbers", headers={"X-Chat-Page": "1"}, timeout=10)
    assert (admin.status_code, admin.json()["error"]["code"]) == (404, "not_forwarded")


def test_a_new_user_hooks_up_a_phone_on_the_page_with_the_code_from_the_phone_page(stack, browser):
    phone = "+14155550153"
    page = browser.new_page(viewport={"width": 1680, "height": 900})
    try:
        page.goto(stack.summary["chat_page_url"].rstrip("/") + "/both")  # the two pages side by side
        chat, phones = page.frame_locator("#chat"), page.frame_locator("#phones")
        chat.get_by_label("user id").fill("Sam")
        chat.get_by_role("button", name="Open").click()
        expect(chat.locator(".users button.current")).to_have_text("sam")  # ids as the API takes them
        expect(chat.locator("#phone-box")).to_contain_text("No phone yet")
        chat.get_by_label("phone to hook up").fill("415 555 0153")
        chat.get_by_role("button", name="Send code").click()
        expect(chat.locator("#phone-box .pill.pending")).to_have_text("pending", timeout=ANSWERED)

        code_sms = phones.locator(f'.phone[data-phone="{phone}"] .bubble', has_text="verification code")
        expect(code_sms).to_have_count(1, timeout=ANSWERED)
        code = next(word.strip(".") for word in code_sms.inner_text().split() if word.strip(".").isdigit())
        chat.get_by_label("verification code").fill("000000" if code != "000000" else "111111")
        chat.get_by_role("button", name="Verify").click()
        expect(chat.locator("#user-error")).to_contain_text("(wrong_code)")  # the API's error, as it said it
        chat.get_by_label("verification code").fill(code)
        chat.get_by_role("button", name="Verify").click()
        expect(chat.locator("#phone-box .pill.verified")).to_have_text("verified")
        expect(chat.locator("#user-error")).to_be_empty()
        assert stack.call("GET", "/users/sam/phone", expect=200).json()["status"] == "verified"
    finally:
        page.close()
