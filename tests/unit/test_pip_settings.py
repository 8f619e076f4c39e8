"""Which of the host's pip, proxy and CA settings reach the build container."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from builder import redact as redact_module
from builder.pip_settings import forwarded_settings, pip_config_files
from builder.pip_settings import site_config_dirs as real_site_config_dirs
from builder.redact import redact


@pytest.fixture(autouse=True)
def no_registered_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(redact_module, "_SECRETS", set())
    yield


def _config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_config_files_are_found_in_pips_order_with_pip_config_file_last(
    tmp_path: Path, site_config: list[Path]
) -> None:
    home = tmp_path / "home"
    xdg_site = _config(site_config[0] / "pip.conf", "[global]\n")
    etc = _config(site_config[1] / "pip.conf", "[global]\n")
    legacy = _config(home / ".pip" / "pip.conf", "[global]\n")
    xdg = _config(home / ".config" / "pip" / "pip.conf", "[global]\n")
    explicit = _config(tmp_path / "explicit.conf", "[global]\n")
    files = pip_config_files({"HOME": str(home), "PIP_CONFIG_FILE": str(explicit)})
    assert files == [xdg_site, etc, legacy, xdg, explicit]


def test_xdg_config_home_replaces_dot_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _config(home / ".config" / "pip" / "pip.conf", "[global]\n")
    xdg = _config(tmp_path / "xdg" / "pip" / "pip.conf", "[global]\n")
    environ = {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert pip_config_files(environ) == [xdg]


def test_missing_files_are_skipped(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "PIP_CONFIG_FILE": str(tmp_path / "absent.conf")}
    assert pip_config_files(environ) == []


def test_site_config_dirs_follow_xdg_config_dirs_then_etc() -> None:
    environ = {"XDG_CONFIG_DIRS": "/opt/a:/opt/b"}
    assert real_site_config_dirs(environ) == [Path("/opt/a/pip"), Path("/opt/b/pip"), Path("/etc")]
    assert real_site_config_dirs({}) == [Path("/etc/xdg/pip"), Path("/etc")]


def test_a_site_config_is_read_and_user_config_wins(
    tmp_path: Path, site_config: list[Path]
) -> None:
    _config(site_config[1] / "pip.conf", "[global]\nindex-url = https://site.example/simple\n")
    assert forwarded_settings({"HOME": str(tmp_path)}).environment == {
        "PIP_INDEX_URL": "https://site.example/simple"
    }
    _config(tmp_path / ".pip" / "pip.conf", "[global]\nindex-url = https://user.example/simple\n")
    env = forwarded_settings({"HOME": str(tmp_path)}).environment
    assert env["PIP_INDEX_URL"] == "https://user.example/simple"


def test_pip_config_file_set_to_devnull_disables_every_file(tmp_path: Path) -> None:
    _config(tmp_path / ".pip" / "pip.conf", "[global]\nindex-url = https://a.example/simple\n")
    environ = {"HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    assert pip_config_files(environ) == []
    settings = forwarded_settings(environ)
    assert settings.environment == {} and settings.cert is None


def test_index_settings_from_config_are_forwarded_and_host_paths_dropped(tmp_path: Path) -> None:
    _config(
        tmp_path / ".config" / "pip" / "pip.conf",
        """\
        [global]
        index-url = https://alice:s3cr3t-pass@private.example/simple
        timeout = 60
        [install]
        extra-index-url =
            https://extra.example/simple
            file:///srv/local-index
        find-links = /home/alice/wheels https://links.example/wheels ./relative
        trusted-host = private.example
        """,
    )
    settings = forwarded_settings({"HOME": str(tmp_path)})
    env = settings.environment
    assert env["PIP_INDEX_URL"] == "https://alice:s3cr3t-pass@private.example/simple"
    assert env["PIP_EXTRA_INDEX_URL"] == "https://extra.example/simple"
    assert env["PIP_FIND_LINKS"] == "https://links.example/wheels"
    assert env["PIP_TRUSTED_HOST"] == "private.example"
    assert env["PIP_TIMEOUT"] == "60"
    assert sorted(settings.dropped) == sorted(
        ["file:///srv/local-index", "/home/alice/wheels", "./relative"]
    )
    assert "s3cr3t-pass" not in redact("pip said: s3cr3t-pass")


def test_a_setting_of_only_host_paths_is_not_forwarded(tmp_path: Path) -> None:
    _config(tmp_path / ".pip" / "pip.conf", "[global]\nindex-url = https://a.example/simple\n")
    override = _config(tmp_path / "override.conf", "[global]\nindex-url = /srv/mirror/simple\n")
    settings = forwarded_settings({"HOME": str(tmp_path), "PIP_CONFIG_FILE": str(override)})
    assert "PIP_INDEX_URL" not in settings.environment
    assert settings.dropped == ["/srv/mirror/simple"]


def test_later_sources_win_user_file_then_pip_config_file_then_environment(
    tmp_path: Path,
) -> None:
    _config(tmp_path / ".pip" / "pip.conf", "[global]\nindex-url = https://user.example/s\n")
    explicit = _config(
        tmp_path / "explicit.conf",
        "[global]\nindex-url = https://explicit.example/s\nretries = 9\n",
    )
    environ = {"HOME": str(tmp_path), "PIP_CONFIG_FILE": str(explicit)}
    assert forwarded_settings(environ).environment["PIP_INDEX_URL"] == "https://explicit.example/s"
    environ["PIP_INDEX_URL"] = "https://env.example/s"
    env = forwarded_settings(environ).environment
    assert env["PIP_INDEX_URL"] == "https://env.example/s"
    assert env["PIP_RETRIES"] == "9"


def test_install_section_overrides_global(tmp_path: Path) -> None:
    _config(
        tmp_path / ".pip" / "pip.conf",
        "[global]\nindex-url = https://global.example/s\n"
        "[install]\nindex-url = https://install.example/s\n",
    )
    settings = forwarded_settings({"HOME": str(tmp_path)})
    assert settings.environment["PIP_INDEX_URL"] == "https://install.example/s"


def test_pip_variables_keep_urls_and_drop_paths(tmp_path: Path) -> None:
    environ = {
        "HOME": str(tmp_path),
        "PIP_EXTRA_INDEX_URL": "https://tok3n-value@extra.example/simple /srv/index",
        "PIP_FIND_LINKS": "/opt/wheels",
        "PIP_DEFAULT_TIMEOUT": "180",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    settings = forwarded_settings(environ)
    assert settings.environment["PIP_EXTRA_INDEX_URL"] == "https://tok3n-value@extra.example/simple"
    assert settings.environment["PIP_DEFAULT_TIMEOUT"] == "180"
    assert "PIP_FIND_LINKS" not in settings.environment
    assert "PIP_DISABLE_PIP_VERSION_CHECK" not in settings.environment
    assert sorted(settings.dropped) == ["/opt/wheels", "/srv/index"]
    assert redact("token tok3n-value") == "token ****"


def test_proxies_are_forwarded_in_both_cases_and_their_passwords_registered(
    tmp_path: Path,
) -> None:
    environ = {
        "HOME": str(tmp_path),
        "HTTPS_PROXY": "http://proxyuser:pr0xy-pass@proxy.example:3128",
        "no_proxy": "localhost,127.0.0.1",
        "HTTP_PROXY": "",
        "FTP_PROXY": "http://ignored.example",
    }
    env = forwarded_settings(environ).environment
    assert env["HTTPS_PROXY"] == "http://proxyuser:pr0xy-pass@proxy.example:3128"
    assert env["no_proxy"] == "localhost,127.0.0.1"
    assert "HTTP_PROXY" not in env and "FTP_PROXY" not in env
    assert redact("CONNECT failed: pr0xy-pass") == "CONNECT failed: ****"


def test_cert_comes_from_config_and_pip_cert_wins(tmp_path: Path) -> None:
    _config(tmp_path / ".pip" / "pip.conf", "[global]\ncert = /etc/corp/ca.pem\n")
    assert forwarded_settings({"HOME": str(tmp_path)}).cert == Path("/etc/corp/ca.pem")
    environ = {"HOME": str(tmp_path), "PIP_CERT": "/other/ca.pem"}
    assert forwarded_settings(environ).cert == Path("/other/ca.pem")
