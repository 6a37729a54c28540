"""Users and API tokens from the command line: ``teiten incidents user add|disable|enable|password``
and ``teiten incidents token new|list|revoke`` (on SQLite, and PostgreSQL with TEITEN_TEST_PG)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from teiten.cli.main import cli
from teiten.incidents.db import open_db
from teiten.incidents.models import ApiToken, User, WebSession
from teiten.incidents.users import check_password, token_access, verify

PASSWORD = "tawny-grill-ocean-47"
NEW_PASSWORD = "velvet-harbor-quartz-83"


def teiten(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


@pytest.fixture
def users(db_url: str) -> str:
    """``db_url`` with ana (handler) and vic (viewer), added through the CLI."""
    for name, role in (("ana", "handler"), ("vic", "viewer")):
        r = teiten("incidents", "user", "add", name, "--role", role, "--db", db_url, env={"TEITEN_PASSWORD": PASSWORD})
        assert r.exit_code == 0 and f"user {name} ({role}) added" in r.output, r.output
    return db_url


def test_token_new_with_scope_and_expiry_then_list_and_revoke(users: str) -> None:
    # today: `incidents token` took neither --scope nor --expires, and `token list`/`token revoke`
    # did not exist (the word was read as a user name)
    r = teiten("incidents", "token", "new", "ana", "--label", "intake bot", "--scope", "intake", "--expires", "30",
               "--db", users)
    assert r.exit_code == 0, r.output
    intake = r.output.strip()
    assert intake.startswith("tt_")
    read = teiten("incidents", "token", "new", "vic", "--scope", "read", "--db", users).output.strip()
    both = teiten("incidents", "token", "new", "ana", "--db", users).output.strip()
    db = open_db(users)
    try:
        with db.session() as s:
            got = {tok: token_access(s, tok) for tok in (intake, read, both)}
            assert {tok: (g[0].name, g[1]) for tok, g in got.items() if g} == {
                intake: ("ana", frozenset({"intake"})), read: ("vic", frozenset({"read"})),
                both: ("ana", frozenset({"intake", "read"}))}
            ends = {t.label: t.expires_at - t.created_at for t in s.scalars(select(ApiToken)) if t.expires_at}
            assert abs(ends["intake bot"] - timedelta(days=30)) < timedelta(seconds=5)
            assert abs(ends[None] - timedelta(days=365)) < timedelta(seconds=5)
        listed = json.loads(teiten("incidents", "token", "list", "--json", "--db", users).output)["rows"]
        assert [(t["id"], t["user"], t["label"], t["scope"]) for t in listed] == [
            (1, "ana", "intake bot", "intake"), (2, "vic", None, "read"), (3, "ana", None, "intake,read")]
        assert set(listed[0]) == {"id", "user", "label", "scope", "created", "expires", "last_used", "revoked"}
        assert listed[0]["last_used"] is not None and listed[0]["revoked"] is None  # used just above
        text = teiten("incidents", "token", "list", "--db", users).output + json.dumps(listed)
        with db.session() as s:
            for t in s.scalars(select(ApiToken)):
                assert t.digest not in text
        assert intake not in text and read not in text
        only_vic = json.loads(teiten("incidents", "token", "list", "vic", "--json", "--db", users).output)["rows"]
        assert [t["id"] for t in only_vic] == [2]
        r = teiten("incidents", "token", "revoke", "1", "--db", users)
        assert r.exit_code == 0 and "token 1 of ana revoked" in r.output
        listed = json.loads(teiten("incidents", "token", "list", "ana", "--json", "--db", users).output)["rows"]
        assert listed[0]["revoked"] is not None and listed[1]["revoked"] is None
        with db.session() as s:
            assert token_access(s, intake) is None and token_access(s, both) is not None
    finally:
        db.close()
    for args in (["revoke", "99"], ["new", "nobody"], ["list", "nobody"], ["new", "ana", "--scope", "write"]):
        r = teiten("incidents", "token", *args, "--db", users)
        assert r.exit_code == 1 and "Error:" in r.output, args
    assert "default: 365" in teiten("incidents", "token", "new", "--help").output


def test_disable_ends_sessions_and_tokens_enable_brings_tokens_back(users: str) -> None:
    # today: there was no `user disable`/`user enable`; a user stayed active for ever
    token = teiten("incidents", "token", "new", "ana", "--db", users).output.strip()
    db = open_db(users)
    try:
        with db.session() as s:
            ana = s.scalar(select(User).where(User.name == "ana"))
            assert ana is not None
            s.add_all([WebSession(id="a" * 64, user_id=ana.id, csrf="x"), WebSession(id="b" * 64, user_id=ana.id,
                                                                                     csrf="y")])
        r = teiten("incidents", "user", "disable", "ana", "--db", users)
        assert r.exit_code == 0 and "user ana disabled" in r.output, r.output
        with db.session() as s:
            assert all(w.revoked_at is not None for w in s.scalars(select(WebSession)))
            assert token_access(s, token) is None and verify(s, "ana", PASSWORD) is None
        r = teiten("incidents", "user", "enable", "ana", "--db", users)
        assert r.exit_code == 0 and "user ana enabled" in r.output
        with db.session() as s:
            assert token_access(s, token) is not None and verify(s, "ana", PASSWORD) is not None
            assert all(w.revoked_at is not None for w in s.scalars(select(WebSession)))  # sessions stay ended
    finally:
        db.close()
    assert teiten("incidents", "user", "disable", "nobody", "--db", users).exit_code == 1


def test_password_prompted_twice_or_from_the_environment_and_checked_by_the_policy(users: str) -> None:
    # today: there was no `user password`; a password could not be changed
    r = teiten("incidents", "user", "password", "ana", "--db", users, input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert r.exit_code == 0 and "password of ana changed" in r.output, r.output
    db = open_db(users)
    try:
        with db.session() as s:
            assert verify(s, "ana", NEW_PASSWORD) is not None and verify(s, "ana", PASSWORD) is None
        r = teiten("incidents", "user", "password", "ana", "--db", users, input=f"{PASSWORD}\nsomething-else-99\n"
                   f"{PASSWORD}\n{PASSWORD}\n")
        assert r.exit_code == 0 and "do not match" in r.output  # asked again until both agree
        r = teiten("incidents", "user", "password", "vic", "--db", users, env={"TEITEN_PASSWORD": NEW_PASSWORD})
        assert r.exit_code == 0
        r = teiten("incidents", "user", "password", "vic", "--db", users, env={"TEITEN_PASSWORD": "short"})
        assert r.exit_code == 1 and "Error:" in r.output  # the policy of add_user
        with db.session() as s:
            vic = s.scalar(select(User).where(User.name == "vic"))
            ana = s.scalar(select(User).where(User.name == "ana"))
            assert vic is not None and check_password(NEW_PASSWORD, vic.password)
            assert ana is not None and check_password(PASSWORD, ana.password)
    finally:
        db.close()
    assert teiten("incidents", "user", "password", "nobody", "--db", users, env={"TEITEN_PASSWORD": PASSWORD}
                  ).exit_code == 1


def test_the_old_forms_name_the_new_commands(db_url: str) -> None:
    # today: `incidents user NAME --role R` added a user and `incidents token NAME` made a token;
    # now they are `user add` and `token new`, and the old forms say so (exit 2, nothing done)
    r = teiten("incidents", "user", "ana", "--role", "admin", "--db", db_url, env={"TEITEN_PASSWORD": PASSWORD})
    assert r.exit_code == 2 and "teiten incidents user add ana --role ROLE" in r.output
    r = teiten("incidents", "token", "ana", "--db", db_url)
    assert r.exit_code == 2 and "teiten incidents token new ana" in r.output
    db = open_db(db_url)
    try:
        with db.session() as s:
            assert s.scalars(select(User)).all() == []
    finally:
        db.close()
