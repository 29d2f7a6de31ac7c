"""Migration scripts split into statements with SQLite's own tokenizer."""

from __future__ import annotations

import pytest

from appliance.errors import StoreError
from appliance.store.db import split_statements
from appliance.store.migrations import MIGRATIONS

pytestmark = pytest.mark.unit


def test_statements_with_comments_strings_and_triggers() -> None:
    script = """
    CREATE TABLE a (x TEXT DEFAULT 'a;b');  -- a comment; with a semicolon
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET x = 'y;z';
        DELETE FROM a WHERE x = '';
    END;
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[0].startswith("CREATE TABLE a") and "'a;b'" in statements[0]
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


def test_an_unfinished_statement_is_an_error() -> None:
    with pytest.raises(StoreError) as err:
        split_statements("CREATE TABLE a (x TEXT")
    assert err.value.code == "store-migration-failed"


def test_every_migration_splits_cleanly() -> None:
    for script in MIGRATIONS:
        assert split_statements(script)
