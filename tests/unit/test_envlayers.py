from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.envlayers import (
    MASK,
    EnvLayer,
    Redactor,
    compose_defaults,
    context_words,
    is_secret_name,
    load_environment,
    redact_document,
    resolve,
    weakness,
)
from bootstrap.errors import ConfigError


def test_precedence_lowest_first() -> None:
    layers = {
        EnvLayer.COMPOSE_DEFAULT: {"A": "default", "B": "default", "C": "default", "D": "d"},
        EnvLayer.DOTENV: {"A": "env", "B": "env", "C": "env"},
        EnvLayer.DOTENV_LOCAL: {"B": "local", "C": "local"},
        EnvLayer.PROCESS: {"C": "process", "UNRELATED": "x"},
        EnvLayer.SECRET: {"E": "s3cret"},
    }
    resolved = resolve(layers)
    assert {n: (v.value, v.layer) for n, v in resolved.items()} == {
        "A": ("env", EnvLayer.DOTENV),
        "B": ("local", EnvLayer.DOTENV_LOCAL),
        "C": ("process", EnvLayer.PROCESS),
        "D": ("d", EnvLayer.COMPOSE_DEFAULT),
        "E": ("s3cret", EnvLayer.SECRET),
    }
    assert resolved["C"].overrides == (
        EnvLayer.COMPOSE_DEFAULT,
        EnvLayer.DOTENV,
        EnvLayer.DOTENV_LOCAL,
    )
    assert resolved["E"].secret and resolved["E"].shown() == MASK
    assert resolved["E"].shown(reveal=True) == "s3cret"


def test_secret_store_beats_process_environment() -> None:
    layers = {EnvLayer.PROCESS: {"DB_PASSWORD": "p"}, EnvLayer.SECRET: {"DB_PASSWORD": "s"}}
    resolved = resolve(layers)
    assert resolved["DB_PASSWORD"].value == "s"


@pytest.mark.parametrize(
    "name",
    ["POSTGRES_PASSWORD", "API_TOKEN", "app_secret", "SSH_KEY", "SANDBOX_API_KEY",
     "SECRET_KEY_BASE", "JWT_SECRET", "GOOGLE_API_CREDENTIALS", "db.password", "MINIO_ROOT_PASS"],
)  # fmt: skip
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    ["POSTGRES_USER", "VALKEY_IMAGE", "KEYCLOAK_VERSION", "MONKEY", "API_KEY_PREFIX",
     "TOKEN_EXPIRY", "SECRET_FILE", "PASSWORD_FILE", "KEYDB_HOST", "PASSENGER_PORT"],
)  # fmt: skip
def test_plain_names_are_not_secret(name: str) -> None:
    """A word of a name says it, never a word inside another (issue 38: VALKEY_IMAGE masked
    the Valkey image in the plan); a last word saying what else it is makes it no secret."""
    assert not is_secret_name(name)


def test_a_secret_that_is_also_part_of_an_image_is_masked_only_as_a_value() -> None:
    """Dify's SANDBOX_API_KEY defaults to dify-sandbox, also its sandbox image's name: the
    image reference stays whole; the value stays masked where it stands as the value."""
    texts = ["services:\n  sandbox:\n    image: langgenius/dify-sandbox:0.2.6\n"]
    redact = Redactor({"SANDBOX_API_KEY": "dify-sandbox"}, context=context_words(texts))
    assert redact("image langgenius/dify-sandbox:0.2.6") == "image langgenius/dify-sandbox:0.2.6"
    assert redact("SANDBOX_API_KEY=dify-sandbox") == f"SANDBOX_API_KEY={MASK}"


def test_compose_defaults_scan() -> None:
    defaults, referenced = compose_defaults(["image: pg:${TAG:-17}\nx: ${REQ:?no}\ny: ${P}"])
    assert defaults == {"TAG": "17"}
    assert referenced == {"TAG", "REQ", "P"}


def test_load_environment_reads_files_and_secret_store(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("USER_NAME=base\nDB=app\nURL=db/${DB}\n")
    (tmp_path / ".env.local").write_text("DB=local\nURL2=${URL}-x\n")
    secrets = tmp_path / ".secrets"
    secrets.mkdir()
    (secrets / "POSTGRES_PASSWORD").write_text("s3cret-value\n")
    env = load_environment(
        tmp_path,
        secrets_dir=".secrets",
        compose_texts=["${TAG:-1} ${MISSING}"],
        environ={"USER_NAME": "proc"},
    )
    assert env.get("USER_NAME") == "proc"
    assert env.variables["USER_NAME"].layer is EnvLayer.PROCESS
    assert env.get("DB") == "local"
    assert env.get("URL2") == "db/app-x"
    assert env.get("POSTGRES_PASSWORD") == "s3cret-value"
    assert env.unset() == ["MISSING"]
    assert env.values()["POSTGRES_PASSWORD"] == "s3cret-value"
    assert "TAG" not in env.values()  # compose applies its own defaults
    assert list(env.secrets().values()) == ["s3cret-value"]


def test_secret_file_with_bad_name(tmp_path: Path) -> None:
    (tmp_path / ".secrets").mkdir()
    (tmp_path / ".secrets" / "not-a-name").write_text("x")
    with pytest.raises(ConfigError, match="not a variable name"):
        load_environment(tmp_path, secrets_dir=".secrets", compose_texts=[], environ={})


def test_redactor_masks_strong_secrets_longest_first() -> None:
    redact = Redactor(["k3y-abcdefgh", "k3y-abcdefgh-longer"])
    assert redact("x k3y-abcdefgh-longer y k3y-abcdefgh") == f"x {MASK} y {MASK}"
    assert Redactor([])("plain") == "plain"


def test_weak_secret_is_masked_only_where_it_is_a_value() -> None:
    words = context_words(["services: {temporal: {image: postgres:16}, temporal-ui: {}}"])
    redact = Redactor({"POSTGRES_PASSWORD": "temporal", "DB_PASS": "postgres"}, context=words)
    assert set(redact.weak_variables) == {"POSTGRES_PASSWORD", "DB_PASS"}
    text = 'temporal-ui uses postgres:16; POSTGRES_PASSWORD=temporal {"DB_PASS": "postgres"}'
    assert redact(text) == (
        f'temporal-ui uses postgres:16; POSTGRES_PASSWORD={MASK} {{"DB_PASS": "{MASK}"}}'
    )
    assert redact("DB_PASS: the value") == "DB_PASS: the value"  # prose is not a value
    assert redact("dsn postgresql://temporal:temporal@temporal:5432/x") == (
        f"dsn postgresql://temporal:{MASK}@temporal:5432/x"
    )


@pytest.mark.parametrize("value", ["null", "true", "12345", '"}'])
def test_json_stays_valid_whatever_the_secret(value: str) -> None:
    import json

    redact = Redactor({"API_TOKEN": value})
    document = {"services": {"a": {"probe": None, "optional": True, "wave": 12345}}, "n": '"}'}
    masked = redact_document(document, redact)
    assert json.loads(json.dumps(masked)) == masked
    assert masked["services"] == document["services"]  # type: ignore[index]


def test_weakness_reasons() -> None:
    assert weakness("abc") == "shorter than 8 characters"
    assert weakness("changeme") == "a common password"
    assert weakness("shopping", frozenset({"shopping_db"})) is not None
    assert weakness("Zq8-very-secret-value") is None
