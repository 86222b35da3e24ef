"""The Alliance Innovation Registry."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate

from registry import config as configuration
from registry.db import db
from registry.search import include_name

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` overrides the environment (tests, CLI)."""
    settings = configuration.load(config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(
        REGISTRY=settings,
        ISSUER=settings["ISSUER"].rstrip("/"),
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=settings["MAX_CONTENT_LENGTH"],
        JSON_SORT_KEYS=False,
    )
    logging.basicConfig(level=settings["LOG_LEVEL"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)

    db.init_app(app)
    # include_name: the search index's own tables are no model's (registry/search).
    Migrate(
        app,
        db,
        directory=MIGRATIONS,
        compare_type=True,
        render_as_batch=True,
        include_name=include_name,
    )
    _register_api(app)
    return app


def _register_api(app: Flask) -> None:
    from registry import access, api, errors, health
    from registry.accesslog import views as accesslog
    from registry.alliance.views import blp as alliance
    from registry.attachments.views import blp as attachments
    from registry.auth import views as oauth
    from registry.auth.keys import load_token_keys
    from registry.auth.oidc import JWKSCache
    from registry.auth.protect import Protector, TokenValidator
    from registry.auth.server import create_server
    from registry.auth.tokens import AccessTokenGenerator
    from registry.evidence.service import Evidence
    from registry.evidence.views import blp as evidence
    from registry.grants.views import blp as grants
    from registry.ip.views import blp as ideas
    from registry.search.indexer import Indexer
    from registry.search.views import blp as search

    settings = app.config["REGISTRY"]
    keys = load_token_keys(Path(app.instance_path))
    generator = AccessTokenGenerator(
        app.config["ISSUER"], settings["AUDIENCE"], keys, settings["ACCESS_TOKEN_TTL"]
    )
    protector = Protector()
    protector.register_token_validator(
        TokenValidator(
            issuer=app.config["ISSUER"],
            audience=settings["AUDIENCE"],
            keys=keys,
            leeway=settings["TOKEN_LEEWAY"],
            external=settings["OIDC_ISSUERS"],
            jwks_cache=JWKSCache(),
        )
    )
    app.extensions.update(
        {
            "registry.evidence": Evidence.load(
                Path(app.instance_path), settings["ORIGIN"], settings["EXTERNAL_TSAS"]
            ),
            "registry.token_keys": keys,
            "registry.token_generator": generator,
            "registry.protector": protector,
            "registry.authorization_server": create_server(app, generator),
            "registry.search": Indexer.load(settings["SEARCH_BACKEND"], Path(app.instance_path)),
        }
    )

    smorest = api.create_api(app)
    smorest.register_blueprint(alliance)
    smorest.register_blueprint(ideas)
    smorest.register_blueprint(evidence)
    smorest.register_blueprint(grants)
    smorest.register_blueprint(accesslog.blp)
    smorest.register_blueprint(search)
    smorest.register_blueprint(attachments)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(health.bp)

    app.before_request(api.assign_request_id)
    app.before_request(access.authenticate_request)
    app.before_request(api.require_media_type)
    app.before_request(api.refuse_lone_surrogates)
    app.after_request(api.return_request_id)
    errors.init_app(app)
    accesslog.init_app(app)
