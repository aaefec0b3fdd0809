"""State-database URLs: one PostgreSQL driver (psycopg 3), passwords never shown, and a database
that cannot be reached is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ConfigError, ExternalError
from store.db import normalize_url, open_engine, redact_url


@pytest.mark.parametrize(
    "given_url",
    [
        "postgres://u:pw@db.internal:5432/state",
        "postgresql://u:pw@db.internal:5432/state",
        "postgresql+psycopg2://u:pw@db.internal:5432/state",
        "postgresql+psycopg://u:pw@db.internal:5432/state",
        "  postgresql://u:pw@db.internal:5432/state\n",
    ],
)
def test_every_postgres_spelling_uses_psycopg3(given_url: str) -> None:
    url = normalize_url(given_url)
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg",
        "u",
        "pw",
        "db.internal",
        5432,
        "state",
    )


def test_query_options_survive_normalising() -> None:
    url = normalize_url("postgres://postgres@127.0.0.1/test?options=-csearch_path%3Dx&sslmode=disable")
    assert dict(url.query) == {"options": "-csearch_path=x", "sslmode": "disable"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "mysql://u:pw@h/db",
            r"^COSTPILOT_DATABASE_URL: unsupported database 'mysql' \(sqlite:///PATH or postgresql://USER@HOST/DB\)$",
        ),
        ("state.sqlite", r"^COSTPILOT_DATABASE_URL: unsupported database 'state.sqlite'"),
        (
            "postgresql://u:pw@h:port/db",
            r"^COSTPILOT_DATABASE_URL: 'postgresql://u:\*\*\*@h:port/db' is not a database URL",
        ),
    ],
)
def test_unusable_urls_are_one_line_config_errors(bad: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        normalize_url(bad)
    assert "\n" not in str(info.value) and ":pw@" not in str(info.value)


def test_a_database_that_refuses_connections_is_one_line_naming_it() -> None:
    with pytest.raises(ExternalError) as info:
        open_engine("postgresql://postgres:s3cret@127.0.0.1:1/test")
    message = str(info.value)
    assert message.startswith(
        "cannot connect to the state database postgresql://postgres:***@127.0.0.1:1/test: "
    )
    assert "Connection refused" in message
    assert "s3cret" not in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_sqlite_file_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "state.sqlite"
    with pytest.raises(
        ExternalError,
        match=rf"^cannot connect to the state database sqlite:///{missing}: unable to open database file$",
    ):
        open_engine(f"sqlite:///{missing}")


passwords = st.text(
    alphabet=st.characters(codec="ascii", categories=["L", "N", "P", "S"]), min_size=4, max_size=20
)


@given(passwords)
def test_redacted_urls_never_show_the_password(password: str) -> None:
    from urllib.parse import quote

    url = f"postgresql://alice:{quote(password, safe='')}@db.internal:5432/state"
    shown = redact_url(url)
    assert shown == "postgresql://alice:***@db.internal:5432/state"
    assert redact_url(normalize_url(url)) == "postgresql+psycopg://alice:***@db.internal:5432/state"


@given(st.text(min_size=1, max_size=60))
def test_normalising_any_text_gives_a_url_or_a_config_error(text: str) -> None:
    try:
        url = normalize_url(text)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        assert url.drivername in {"postgresql+psycopg", "sqlite", "sqlite+pysqlite"}
