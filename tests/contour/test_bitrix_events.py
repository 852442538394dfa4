"""Bitrix24 emulator: outbound events POSTed to a real local HTTP receiver."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.contour.conftest import Bitrix

TOKEN = "s3cret-app-token"


class Receiver:
    """An ``http.server`` that records each POST (content type and decoded form fields)."""

    def __init__(self) -> None:
        received: queue.Queue[tuple[str, dict[str, str]]] = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                received.put((self.headers.get("Content-Type", ""), dict(parse_qsl(body))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.queue = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bitrix/events"

    def next(self, timeout: float = 10.0) -> tuple[str, dict[str, str]]:
        return self.queue.get(timeout=timeout)

    def events(self) -> list[str]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait()[1]["event"])
        return out


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def receiver(bitrix: Bitrix) -> Iterator[Receiver]:
    rec = Receiver()
    bitrix.contour.knobs("bitrix", event_handler_url=rec.url, application_token=TOKEN)
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def test_company_add_and_update_are_delivered_with_the_token(bitrix: Bitrix, receiver: Receiver) -> None:
    company = bitrix.result("crm.company.add", {"fields": {"TITLE": "Событие"}})
    ctype, form = receiver.next()
    assert ctype == "application/x-www-form-urlencoded"
    assert form["event"] == "ONCRMCOMPANYADD" and form["data[FIELDS][ID]"] == str(company)
    assert form["auth[application_token]"] == TOKEN and form["auth[domain]"] == "crm1c-contour.bitrix24.ru"
    assert form["auth[member_id]"] and form["event_handler_id"].isdigit() and form["ts"].isdigit()
    assert form["auth[client_endpoint]"] == "https://crm1c-contour.bitrix24.ru/rest/"
    bitrix.result("crm.company.update", {"id": company, "fields": {"TITLE": "Событие-2"}})
    _, form = receiver.next()
    assert (form["event"], form["data[FIELDS][ID]"]) == ("ONCRMCOMPANYUPDATE", str(company))


def test_deal_and_invoice_updates_and_configured_names(bitrix: Bitrix, receiver: Receiver) -> None:
    deal = bitrix.result(
        "crm.deal.add", {"fields": {"TITLE": "Без события"}}
    )  # ONCRMDEALADD is not subscribed
    bitrix.result("crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}})
    _, form = receiver.next()
    assert (form["event"], form["data[FIELDS][ID]"]) == ("ONCRMDEALUPDATE", str(deal))
    bitrix.result("crm.item.update", {"entityTypeId": 31, "id": 1, "fields": {"stageId": "DT31_1:P"}})
    _, form = receiver.next()
    assert form["event"] == "ONCRMDYNAMICITEMUPDATE"
    assert (form["data[FIELDS][ID]"], form["data[FIELDS][ENTITY_TYPE_ID]"]) == ("1", "31")
    bitrix.result("crm.deal.productrows.set", {"id": deal, "rows": [{"PRICE": 10, "QUANTITY": 1}]})
    assert receiver.next()[1]["event"] == "ONCRMDEALUPDATE"

    bitrix.contour.knobs("bitrix", event_names="*")
    bitrix.result("crm.deal.delete", {"id": deal})
    assert receiver.next()[1]["event"] == "ONCRMDEALDELETE"
    assert receiver.events() == []
    assert wait_for(lambda: bitrix.stats()["events_sent"] == 4)


def test_events_inside_batch_and_no_retry_on_failure(bitrix: Bitrix, receiver: Receiver) -> None:
    bitrix.call(
        "batch",
        {
            "cmd": {
                "a": "crm.company.update?id=1&fields[TITLE]=A",
                "b": "crm.company.update?id=2&fields[TITLE]=B",
            }
        },
    )
    got = sorted(receiver.next()[1]["data[FIELDS][ID]"] for _ in range(2))
    assert got == ["1", "2"]
    receiver.server.shutdown()
    receiver.server.server_close()
    assert (
        bitrix.result("crm.company.update", {"id": 3, "fields": {"TITLE": "C"}}) is True
    )  # the API call succeeds
    assert wait_for(lambda: bitrix.stats()["events_failed"] == 1)
    stats = bitrix.stats()
    assert (stats["events_failed"], stats["events_sent"]) == (1, 2)


def test_no_handler_no_events(bitrix: Bitrix) -> None:
    bitrix.result("crm.company.update", {"id": 1, "fields": {"TITLE": "Тихо"}})
    assert bitrix.stats()["events_sent"] == 0


def test_duplicate_delivery_drill(bitrix: Bitrix, receiver: Receiver) -> None:
    bitrix.contour.knobs("bitrix", event_copies=3)
    bitrix.result("crm.company.update", {"id": 5, "fields": {"TITLE": "Трижды"}})
    forms = [receiver.next()[1] for _ in range(3)]
    assert {(f["event"], f["data[FIELDS][ID]"]) for f in forms} == {("ONCRMCOMPANYUPDATE", "5")}
