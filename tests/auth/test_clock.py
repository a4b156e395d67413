"""The twin clock: GET and POST /__apitwin__/clock, kept in the store."""

from __future__ import annotations

import asyncio
import time

from apitwin.app import create_app
from apitwin.state.memory import MemoryStore
from tests.auth.conftest import client_on


def test_clock_starts_at_the_wall_clock_and_moves_forward_on_demand() -> None:
    async def go() -> None:
        async with client_on(create_app("docker-dvp")) as client:
            before = time.time()
            reading = (await client.get("/__apitwin__/clock")).json()
            assert before - 1 <= reading["now"] <= time.time() + 1
            assert reading["offset"] == 0
            moved = await client.post("/__apitwin__/clock", json={"advance": 3600})
            assert moved.status_code == 200
            assert moved.json()["offset"] == 3600
            again = (await client.get("/__apitwin__/clock")).json()
            assert again["now"] >= before + 3600
            assert again["iso"].endswith("Z")
            await client.post("/__apitwin__/clock", json={"advance": 0.5})
            assert (await client.get("/__apitwin__/clock")).json()["offset"] == 3600.5

    asyncio.run(go())


def test_clock_refuses_to_go_backwards_or_to_move_by_nonsense() -> None:
    async def go() -> None:
        async with client_on(create_app("docker-dvp")) as client:
            for body in ({"advance": -1}, {"advance": "60"}, {"advance": True}, {"back": 5}, []):
                response = await client.post("/__apitwin__/clock", json=body)
                assert response.status_code == 400, body
                assert "advance" in response.json()["message"]
            bad_json = await client.post("/__apitwin__/clock", content=b"{")
            assert bad_json.status_code == 400
            assert (await client.get("/__apitwin__/clock")).json()["offset"] == 0

    asyncio.run(go())


def test_clock_is_kept_in_the_store_so_twins_sharing_it_agree() -> None:
    store = MemoryStore()
    first, second = create_app("drchrono", store=store), create_app("drchrono", store=store)

    async def go() -> None:
        async with client_on(first) as one, client_on(second) as other:
            await one.post("/__apitwin__/clock", json={"advance": 120})
            assert (await other.get("/__apitwin__/clock")).json()["offset"] == 120

    asyncio.run(go())


def test_each_twin_has_its_own_clock() -> None:
    store = MemoryStore()
    drchrono, dracoon = create_app("drchrono", store=store), create_app("dracoon", store=store)

    async def go() -> None:
        async with client_on(drchrono) as one, client_on(dracoon) as other:
            await one.post("/__apitwin__/clock", json={"advance": 120})
            assert (await other.get("/__apitwin__/clock")).json()["offset"] == 0

    asyncio.run(go())


def test_reset_keeps_the_clock_and_state_does_not_show_it() -> None:
    async def go() -> None:
        async with client_on(create_app("docker-dvp")) as client:
            await client.post("/__apitwin__/clock", json={"advance": 60})
            assert (await client.post("/__apitwin__/reset")).status_code == 200
            assert (await client.get("/__apitwin__/clock")).json()["offset"] == 60
            assert "__clock__" not in (await client.get("/__apitwin__/state")).json()

    asyncio.run(go())


def test_a_stateless_twin_still_has_a_clock() -> None:
    async def go() -> None:
        async with client_on(create_app("dnd5e", stateful=False)) as client:
            moved = await client.post("/__apitwin__/clock", json={"advance": 10})
            assert moved.status_code == 200
            assert moved.json()["offset"] == 10

    asyncio.run(go())
