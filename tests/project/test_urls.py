def test_unknown_api_path_is_a_json_404(client, db):
    response = client.get("/api/v1/no-such-thing/42")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_openapi_schema_and_docs_are_served(client, db):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "bearer" in str(schema.json()["components"]["securitySchemes"]).lower()
    assert client.get("/api/v1/docs").status_code == 200


def test_home_sends_people_to_their_profile(client, db):
    response = client.get("/")
    assert response.status_code == 302
