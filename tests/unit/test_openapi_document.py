"""openapi.yaml and app.py describe the same routes."""

from pathlib import Path

import yaml
from openapi_spec_validator import validate

import app as app_module
from chalicelib.core import identifiers

DOCUMENT = yaml.safe_load((Path(__file__).parents[2] / "openapi.yaml").read_text())


def test_document_is_valid_openapi():
    validate(DOCUMENT)


def test_every_route_is_documented_and_every_documented_path_is_a_route():
    routes = {(path, method.lower()) for path, methods in app_module.app.routes.items() for method in methods}
    documented = {
        (path, method)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head"}
    }
    assert routes == documented


def test_the_documented_id_is_the_rule_the_bridge_applies():
    documented = DOCUMENT["components"]["schemas"]["Id"]
    assert (documented["pattern"], documented["maxLength"]) == (identifiers.ID_PATTERN, identifiers.MAX_ID)
    assert identifiers.is_valid_id("a" * 128) and not identifiers.is_valid_id("a" * 129)
    assert not identifiers.is_valid_id("ok\n"), "the pattern's $ must not let a newline through"
