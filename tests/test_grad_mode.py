"""Grad mode: context managers, decorators, exceptions, threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import threading

import pytest

import wrapgrad


def test_no_grad_context_and_decorator(xp) -> None:
    x = xp.ones(2, requires_grad=True)
    with wrapgrad.no_grad():
        assert not (x**2).requires_grad
        with wrapgrad.enable_grad():
            assert (x**2).requires_grad
    assert (x**2).requires_grad

    @wrapgrad.no_grad()
    def evaluate(t):
        return t * 2

    assert not evaluate(x).requires_grad
    assert wrapgrad.is_grad_enabled()


def test_set_grad_enabled_as_call_context_and_decorator() -> None:
    with wrapgrad.set_grad_enabled(False):
        assert not wrapgrad.is_grad_enabled()
    assert wrapgrad.is_grad_enabled()

    @wrapgrad.set_grad_enabled(False)
    def inside():
        return wrapgrad.is_grad_enabled()

    assert wrapgrad.is_grad_enabled()  # decorating switched nothing
    assert inside() is False
    wrapgrad.set_grad_enabled(False)
    try:
        assert not wrapgrad.is_grad_enabled()
    finally:
        wrapgrad.set_grad_enabled(True)
    assert wrapgrad.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError):
        with wrapgrad.no_grad():
            raise ZeroDivisionError
    assert wrapgrad.is_grad_enabled()

    @wrapgrad.no_grad()
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        fails()
    assert wrapgrad.is_grad_enabled()


def test_grad_mode_is_isolated_between_threads() -> None:
    inside_no_grad = threading.Event()
    checked = threading.Event()
    seen = {}

    def worker() -> None:
        with wrapgrad.no_grad():
            inside_no_grad.set()
            checked.wait(5)
            seen["worker"] = wrapgrad.is_grad_enabled()

    t = threading.Thread(target=worker)
    t.start()
    inside_no_grad.wait(5)
    seen["main"] = wrapgrad.is_grad_enabled()
    checked.set()
    t.join()
    assert seen == {"main": True, "worker": False}


def test_grad_mode_is_isolated_between_asyncio_tasks() -> None:
    async def task(mode: bool, started: asyncio.Event, go: asyncio.Event) -> bool:
        with wrapgrad.set_grad_enabled(mode):
            started.set()
            await go.wait()
            return wrapgrad.is_grad_enabled()

    async def main() -> list[bool]:
        s1, s2, go = asyncio.Event(), asyncio.Event(), asyncio.Event()
        t1 = asyncio.create_task(task(False, s1, go))
        t2 = asyncio.create_task(task(True, s2, go))
        await s1.wait()
        await s2.wait()
        go.set()
        return [await t1, await t2]

    assert asyncio.run(main()) == [False, True]
