def test_phone_hookup_needs_a_pool_number_within_the_limits(api, monkeypatch):
    # An empty pool grows for the code (test_pool_growth.py); at the size limit it cannot.
    monkeypatch.setenv("POOL_MAX_SIZE", "0")
    response = api.put("/users/alice/phone", {"phone": "+14155550100"})
    assert response.status_code == 503, response.body
    assert response.json["error"]["code"] == "pool_exhausted"


def test_missing_token_is_401(api):
    response = api.get("/users/alice/phone", token=None)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
