import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_token_endpoint_returns_a_token(cast):
    response = APIClient().post("/api/v1/auth/token/", {"username": "lead", "password": "pw"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=cast.lead).key}


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
