"""403, 404, 500 and the CSRF failure are the plant's own pages, in the user's language."""

import pytest
from django.test import Client

from conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False
    settings.PLANT_NAME = "Planta Norte"


def assert_plant_page(response, *texts):
    body = response.content.decode()
    assert "Planta Norte" in body
    assert 'href="/"' in body  # the way back to the menu
    for text in texts:
        assert text in body, f"{text!r} not on the page"


def test_a_missing_page_is_the_plants_own_in_spanish(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_plant_page(response, 'lang="es"', "Esta página no existe", "Volver al menú")
    assert "Not Found" not in response.content.decode()


def test_a_missing_page_speaks_the_users_language(client):
    client.force_login(make_user("guard_en", "Caseta", language="en"))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_plant_page(response, 'lang="en"', "This page does not exist", "Back to the menu")


def test_a_missing_driver_answers_the_same_page(client, supervisor):
    client.force_login(supervisor)
    response = client.get("/drivers/999999/edit/")
    assert response.status_code == 404
    assert_plant_page(response, "Esta página no existe")


def test_a_forbidden_screen_is_the_plants_own_page(client, caseta):
    client.force_login(caseta)
    response = client.get("/history/")
    assert response.status_code == 403
    assert_plant_page(response, "No permitido", "Volver al menú")


def test_a_stale_form_is_explained_not_djangos_technical_page(supervisor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor)
    response = client.post("/language/", {"language": "en"})
    assert response.status_code == 403
    assert_plant_page(response, "Esta página estaba desactualizada", "No se guardó nada")
    assert "CSRF" not in response.content.decode()
    supervisor.refresh_from_db()
    assert supervisor.language == ""


@pytest.mark.urls("qrgate.tests.urls_boom")
def test_a_crash_shows_the_plants_page_without_touching_the_database(django_assert_num_queries):
    client = Client(raise_request_exception=False)
    with django_assert_num_queries(0):
        response = client.get("/boom/")
    assert response.status_code == 500
    assert_plant_page(response, "Algo falló", "Volver al menú")


def test_the_500_handler_reads_nothing_but_settings(rf, django_assert_num_queries):
    from qrgate.views import server_error

    request = rf.get("/x/")
    with django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500 and "Planta Norte" in response.content.decode()
