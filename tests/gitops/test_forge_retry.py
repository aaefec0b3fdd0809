"""GitHub 5xx and rate limits (403 with Retry-After) are retried with backoff, bounded; the whole
publish is tried again, so a retry never opens a second PR (issue #15, item 4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from github_faults import FaultyStandin
from pydantic import SecretStr
from test_forge_github import request

from domain.errors import ExternalError
from gitops.forges import ForgeConfig, get_forge
from gitops.forges.retry import with_retries

FAST = {"seconds_between_requests": 0.0, "seconds_between_writes": 0.0, "backoff_seconds": 0.05}


@pytest.fixture
def faulty(bare_repo: tuple[Path, str]) -> Iterator[FaultyStandin]:
    server = FaultyStandin(repo_path=bare_repo[0]).start()
    yield server
    server.stop()


def forge_for(standin: FaultyStandin, **kw: object):  # type: ignore[no-untyped-def]
    config = {"publish_attempts": 3, **FAST, **kw}
    return get_forge(
        "github",
        ForgeConfig(
            repo="acme/gitops", github_base_url=standin.base_url, token=SecretStr("ghp-good"), **config
        ),  # type: ignore[arg-type]
    )


def test_a_403_rate_limit_with_retry_after_is_waited_out_and_gives_one_pr(faulty: FaultyStandin) -> None:
    faulty.rate_limit("POST", r"/pulls$", retry_after=1)
    started = time.monotonic()
    result = forge_for(faulty).publish(request())
    waited = time.monotonic() - started
    assert (result.number, result.created) == (1, True) and len(faulty.pulls) == 1
    assert 1.0 <= waited < 5.0  # the server's Retry-After, not the 0.05 s backoff
    assert len(faulty.calls_to("POST", "/pulls")) == 2


def test_a_5xx_on_a_write_is_retried_from_the_start_without_a_second_pr(faulty: FaultyStandin) -> None:
    faulty.fail_with("POST", r"/pulls$", 502, times=2)
    result = forge_for(faulty).publish(request())
    assert result.number == 1 and len(faulty.pulls) == 1
    assert len(faulty.calls_to("POST", "/git/commits")) == 1  # the branch already held the commit


def test_retries_are_bounded_and_the_reason_is_one_line(faulty: FaultyStandin) -> None:
    faulty.fail_with("POST", r"/pulls$", 502, times=10, message="upstream {authorization} down")
    with pytest.raises(ExternalError) as info:
        forge_for(faulty).publish(request())
    assert str(info.value) == (
        "GitHub 502 while opening the pull request in acme/gitops: upstream token *** down (gave up after 3 tries)"
    )
    assert len(faulty.calls_to("POST", "/pulls")) == 3


def test_a_retry_after_longer_than_the_limit_gives_up_at_once(faulty: FaultyStandin) -> None:
    faulty.rate_limit("POST", r"/pulls$", retry_after=3600, times=5)
    with pytest.raises(
        ExternalError,
        match=r"^GitHub rate limit 403 while opening the pull request in acme/gitops: You have exceeded a "
        r"secondary rate limit \(gave up after 1 try: the server asked to wait longer\)$",
    ):
        forge_for(faulty, max_wait_seconds=5).publish(request())
    assert len(faulty.calls_to("POST", "/pulls")) == 1


def test_with_retries_doubles_the_backoff_and_stops_on_a_permanent_error() -> None:
    from github import GithubException

    waits: list[float] = []
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise GithubException(503, {"message": "busy"}, {})
        return "ok"

    assert (
        with_retries(flaky, attempts=4, backoff_seconds=0.5, max_wait_seconds=60, sleep=waits.append) == "ok"
    )
    assert waits == [0.5, 1.0]
    with pytest.raises(GithubException):
        with_retries(
            lambda: (_ for _ in ()).throw(GithubException(422, {"message": "no"}, {})),
            attempts=4,
            backoff_seconds=0.5,
            max_wait_seconds=60,
            sleep=waits.append,
        )
    assert waits == [0.5, 1.0]
