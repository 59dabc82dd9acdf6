"""Two app servers on one PostgreSQL database, as PRODUCT.md promises for a growing plant.

Two independent gunicorns (each its own data folder, as on two machines; one DATABASE_URL,
one SECRET_KEY, one shared media folder) serve booths that scan the same drivers through
both at once. One server is killed whole (SIGKILL to master and workers) mid-run; its
booths send their unanswered scan again, same nonce and session, to the other server, as
the scan screen's offline queue does behind a proxy. Then the booths go through Caddy,
configured as README's "Two app servers" shows, and the other server dies. The test makes
and drops a PostgreSQL database of its own, so it runs whichever database the rest of the
suite uses.
"""

import base64
import io
import os
import shutil
import urllib.parse

import pytest
from PIL import Image

from bench import loadkit, two_servers

SCANS = 300


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    if not two_servers.postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not running on 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    folder = tmp_path_factory.mktemp("two-servers")
    with two_servers.scratch_database(f"qrgate_two_{os.getpid()}") as url:
        yield two_servers.make_plant(folder, url, drivers=8, booths=4)


@pytest.fixture
def servers(plant):
    started = []
    try:
        for name in ("a", "b"):
            started.append(two_servers.AppServer(plant.server_env(name), two_servers.free_port(),
                                                 plant.folder / f"gunicorn-{name}.log").launch())
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


def photo_data_url() -> str:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 60)).save(out, format="JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def set_photo_through(client: loadkit.Client, driver_id: int) -> None:
    """A supervisor gives driver `driver_id` a webcam photo through `client`'s server."""
    n = driver_id - 1  # the drivers were made in order: Chofer 0 is the first pk
    status, body, _ = client.get(f"/drivers/{driver_id}/edit/")
    assert status == 200, body[:300]
    fields = {"full_name": f"Chofer {n}", "license_number": f"TWO{n:05d}", "company": "Fletes Norte",
              "phone": "", "plate": "", "notes": "", "photo_data": photo_data_url(),
              "csrfmiddlewaretoken": client.cookies["csrftoken"]}
    status, body, _ = client.request("POST", f"/drivers/{driver_id}/edit/",
                                     urllib.parse.urlencode(fields).encode(),
                                     {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, body[:500]


def photo_name(database_url: str, driver_id: int) -> str:
    import psycopg

    with psycopg.connect(database_url) as db:
        return db.execute("SELECT photo_thumb FROM drivers_driver WHERE id = %s", (driver_id,)).fetchone()[0]


def test_two_servers_one_killed_mid_run_lose_no_scan_and_agree_on_everything(plant, servers):
    a, b = servers
    ports = [a.port, b.port]

    # A photo set through server A is served by server B (one shared media folder), to the
    # supervisor's session opened on A (sessions live in the database).
    boss = loadkit.Client(a.port)
    boss.login("boss")
    driver_id = plant.drivers[0][0]
    set_photo_through(boss, driver_id)
    name = photo_name(plant.database_url, driver_id)
    boss_on_b = on_port(boss, b.port)
    status, body, response = boss_on_b.get(f"/media/{name}")
    assert status == 200 and response.getheader("Content-Type") == "image/jpeg"
    assert Image.open(io.BytesIO(body)).size == (120, 160)

    # Four booths, two per server, scan the same 8 drivers at 4 stations (often two at once:
    # a scan then waits for the other, maybe on the other server); A dies a third of the way.
    killed = {}

    def kill_a(done):
        if done >= SCANS // 3 and not killed:
            killed["at"] = done
            a.kill()

    acks, _ = two_servers.run_booths(plant, ports, scans=SCANS, booths=4, prefix="k", on_progress=kill_a)
    assert killed, "the scans ended before server A was killed"
    assert acks.errors == []
    assert acks.failovers >= 2  # both booths of A went over to B
    assert acks.sent == set(acks.movements) | acks.refused  # every scan was answered in the end
    assert len(acks.movements) > 30 and len(acks.refused) > 30  # both kinds were exercised

    # Every acknowledged scan is stored exactly once, under its nonce: accepted ones as the
    # movement the booth was told, refused ones as a refused scan.
    facts = two_servers.stored(plant.database_url, "k")
    assert dict(facts["movements"]) == acks.movements
    assert sorted(facts["refused"]) == sorted(acks.refused)
    # No driver has two entries (or two exits) in a row, nor two open visits.
    assert [d for d, seq in facts["sequences"].items() if two_servers.two_in_a_row(seq)] == []
    assert set(facts["open_visits"].values()) <= {1}

    # Server A comes back; the dashboard served by either shows the same numbers, which are
    # the database's.
    a.start()
    boards = [two_servers.dashboard_numbers(on_port(boss, port)) for port in ports]
    assert boards[0] == boards[1] and len(boards[0]["station_hours"]) == 4
    gates = [[d for d in seq if d in ("in", "out")] for seq in facts["sequences"].values()]
    inside = sum(1 for seq in gates if seq[-1:] == ["in"])
    entries, exits = sum(seq.count("in") for seq in gates), sum(seq.count("out") for seq in gates)
    assert boards[0]["fig-inside"] == str(inside) == str(len(facts["open_visits"]))
    assert (boards[0]["fig-entries"], boards[0]["fig-exits"]) == (str(entries), str(exits))
    assert boards[0]["fig-refused"] == str(len(acks.refused))
    # And the photo is still there for the restarted A.
    assert on_port(boss, a.port).get(f"/media/{name}")[1] == body
    assert "Traceback" not in a.log_text() + b.log_text()

    # Behind the proxy of README's "Two app servers" (Caddy, both servers upstream), B dies
    # now: the booths, which only know the proxy, go on through A.
    if shutil.which("caddy") is None and not os.environ.get("CI"):
        return  # a laptop without Caddy: the proxy part is CI's
    proxy = two_servers.Proxy(two_servers.free_port(), ports, plant.folder).start()
    try:
        killed.clear()

        def kill_b(done):
            if done >= 40 and not killed:
                killed["at"] = done
                b.kill()

        proxied, _ = two_servers.run_booths(plant, [proxy.port], scans=150, booths=4, prefix="p",
                                            on_progress=kill_b)
    finally:
        proxy.stop()
    assert killed and proxied.errors == []
    assert proxied.sent == set(proxied.movements) | proxied.refused
    facts = two_servers.stored(plant.database_url, "p")
    assert dict(facts["movements"]) == proxied.movements
    assert sorted(facts["refused"]) == sorted(proxied.refused)
    everything = two_servers.stored(plant.database_url, "")
    assert [d for d, seq in everything["sequences"].items() if two_servers.two_in_a_row(seq)] == []
    assert "Traceback" not in a.log_text() + b.log_text()


def on_port(client: loadkit.Client, port: int) -> loadkit.Client:
    """The same browser (its session and CSRF cookies) talking to another app server."""
    other = loadkit.Client(port)
    other.cookies = dict(client.cookies)
    return other
