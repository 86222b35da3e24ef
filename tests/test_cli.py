"""registry/cli.py: what `registry serve` configures gunicorn with."""

from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

from registry.cli import ACCESS_LOG_FORMAT


def _access_line(log_format: str, environ: dict) -> str:
    config = Config()
    config.set("access_log_format", log_format)
    response = SimpleNamespace(status="200 OK", sent=42, headers=[], response_length=42)
    request = SimpleNamespace(headers=[("REFERER", environ.get("HTTP_REFERER", "-"))])
    atoms = Logger(config).atoms(response, request, environ, timedelta(milliseconds=3))
    return log_format % atoms


def test_the_access_log_holds_no_query_string_or_referrer():
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/search",
        "QUERY_STRING": "q=tranexamic",
        "RAW_URI": "/api/v1/search?q=tranexamic",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://registry.example/search?q=tranexamic",
        "HTTP_USER_AGENT": "curl/8",
    }
    line = _access_line(ACCESS_LOG_FORMAT, environ)
    assert '"GET /api/v1/search HTTP/1.1" 200' in line
    assert "tranexamic" not in line
    # gunicorn's default format would have logged the search's words.
    assert "tranexamic" in _access_line(Config().access_log_format, environ)
