"""The API's doc page: Swagger UI from our own static files, no inline script, no CDN."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"


def test_the_api_docs_page_renders_under_a_strict_script_policy(page, live_server, screenshot_dir):
    origins, errors = set(), []
    page.on("request", lambda r: origins.add(r.url.split("/", 3)[2]))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))

    def with_csp(route):  # the policy another part of the app sends on every page
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    page.route("**/api/v1/docs/**", with_csp)
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "QRGate API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector("text=/api/v1/presence/")
    page.screenshot(path=str(screenshot_dir / "api-docs.png"), full_page=False)
    assert origins == {live_server.url.split("/", 3)[2]}
    assert errors == []
