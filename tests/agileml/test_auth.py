import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_token_endpoint_returns_a_token(cast):
    response = APIClient().post("/api/v1/auth/token/", {"username": "lead", "password": "pw"}, format="json")
    assert response.status_code == 200
    assert list(response.json()) == ["token"]
    key = response.json()["token"]
    # A named token of the lead's, stored only as a hash.
    stored = ApiToken.objects.get(user=cast.lead)
    assert stored.name == "Signed in through the API"
    assert key not in (stored.digest, stored.token_key) and stored.token_key == key[:15]
    for keyword in ("Token", "Bearer"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
        assert client.get("/api/v1/projects/").json()[0]["key"] == "AUTH"


def test_a_token_from_before_named_tokens_keeps_working(cast):
    legacy = Token.objects.create(user=cast.engineer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {legacy.key}")
    assert client.get("/api/v1/projects/").status_code == 200


def test_token_endpoint_rejects_wrong_password(cast):
    response = APIClient().post("/api/v1/auth/token/", {"username": "lead", "password": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "password: Unknown username or wrong password."


def test_token_endpoint_names_missing_field(cast):
    response = APIClient().post("/api/v1/auth/token/", {"username": "lead"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "password: This field is required."


@pytest.mark.parametrize("keyword", ["Token", "Bearer"])
def test_both_keywords_authenticate(api, cast, keyword):
    response = api(cast.engineer, keyword=keyword).get("/api/v1/projects/")
    assert response.status_code == 200
    assert response.json()[0]["key"] == "AUTH"


@pytest.mark.parametrize("header", ["Token nope", "Bearer nope", "Token", "Bearer a b"])
def test_bad_token_is_401_json(cast, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"]
    assert "detail" not in response.json()


def test_session_auth_works_for_the_browser(client, cast):
    client.force_login(cast.stakeholder)
    assert client.get("/api/v1/projects/AUTH/").json()["role"] == "stakeholder"


def test_unknown_api_url_is_json_404(client, cast):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"message": "There is nothing here, or you are not a member of this project."}
