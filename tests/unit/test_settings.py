import pytest

from pantrypulse.catalog import pyiceberg_env
from pantrypulse.settings import SettingsError, load_settings


def test_defaults_live_under_home(tmp_path):
    s = load_settings({"PANTRYPULSE_HOME": str(tmp_path)})
    assert s.catalog.type == "sql"
    assert s.catalog.uri == f"sqlite:///{tmp_path}/catalog.db"
    assert s.catalog.warehouse == (tmp_path / "warehouse").as_uri()
    assert s.dbt.duckdb_path == tmp_path / "pantrypulse.duckdb"


def test_file_then_environment_precedence(tmp_path):
    (tmp_path / "pantrypulse.yaml").write_text(
        "source:\n  base_url: http://file:1\n  lookback_days: 3\n"
    )
    s = load_settings({"PANTRYPULSE_HOME": str(tmp_path), "PANTRYPULSE_SOURCE__LOOKBACK_DAYS": "9"})
    assert s.source.base_url == "http://file:1"
    assert s.source.lookback_days == 9


def test_rest_catalog_is_configuration_only(tmp_path):
    env = {
        "PANTRYPULSE_HOME": str(tmp_path),
        "PANTRYPULSE_CATALOG__TYPE": "rest",
        "PANTRYPULSE_CATALOG__URI": "http://127.0.0.1:19120/iceberg",
        "PANTRYPULSE_CATALOG__WAREHOUSE": "warehouse",
    }
    (tmp_path / "pantrypulse.yaml").write_text(
        "catalog:\n  properties:\n    s3.endpoint: http://127.0.0.1:9000\n"
        "    s3.path-style-access: 'true'\n"
    )
    s = load_settings(env)
    assert s.catalog_properties() == {
        "type": "rest",
        "uri": "http://127.0.0.1:19120/iceberg",
        "warehouse": "warehouse",
        "s3.endpoint": "http://127.0.0.1:9000",
        "s3.path-style-access": "true",
    }
    env_vars = pyiceberg_env(s)
    assert env_vars["PYICEBERG_CATALOG__PANTRYPULSE__S3__PATH_STYLE_ACCESS"] == "true"
    assert env_vars["PYICEBERG_CATALOG__PANTRYPULSE__TYPE"] == "rest"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"PANTRYPULSE_CATALOG__TYPE": "mysql"}, "PANTRYPULSE_CATALOG__TYPE"),
        ({"PANTRYPULSE_CATALOG__TYPE": "mysql"}, "'sql' or 'rest'"),
        ({"PANTRYPULSE_SOURCE__LOOKBACK_DAYS": "many"}, "PANTRYPULSE_SOURCE__LOOKBACK_DAYS"),
        ({"PANTRYPULSE_SOURCE__BASE_URL": "ftp://x"}, "PANTRYPULSE_SOURCE__BASE_URL"),
        ({"PANTRYPULSE_SOURCE__BASEURL": "http://x"}, "PANTRYPULSE_SOURCE__BASEURL: unknown"),
        ({"PANTRYPULSE_COLOUR": "red"}, "PANTRYPULSE_COLOUR: unknown setting"),
        ({"PANTRYPULSE_DBT__TARGET": "spark"}, "'local' or 'trino'"),
    ],
)
def test_bad_settings_name_the_key(tmp_path, env, needle):
    with pytest.raises(SettingsError) as err:
        load_settings({"PANTRYPULSE_HOME": str(tmp_path), **env})
    assert needle in str(err.value)


def test_bad_file_key_is_named_by_its_path(tmp_path):
    (tmp_path / "pantrypulse.yaml").write_text("source:\n  retries: 3\n")
    with pytest.raises(SettingsError, match=r"source\.retries: unknown setting"):
        load_settings({"PANTRYPULSE_HOME": str(tmp_path)})


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="PANTRYPULSE_CONFIG: file not found"):
        load_settings({"PANTRYPULSE_CONFIG": str(tmp_path / "nope.yaml")})


def test_token_is_secret(tmp_path):
    s = load_settings({"PANTRYPULSE_HOME": str(tmp_path), "PANTRYPULSE_SOURCE__TOKEN": "s3cr3t"})
    assert "s3cr3t" not in repr(s)
    assert s.source.token.get_secret_value() == "s3cr3t"
