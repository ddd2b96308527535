def test_security_page_lists_sign_up(client, db):
    response = client.post("/accounts/signup/", {
        "email": "new@example.com", "password1": "an unusual passphrase 9",
        "password2": "an unusual passphrase 9"})
    assert response.status_code == 302
    page = client.get("/profile/security/")
    assert b"Account created" in page.content
