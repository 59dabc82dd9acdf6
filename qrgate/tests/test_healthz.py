import pytest


@pytest.mark.django_db
def test_healthz_is_public_and_tiny(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
