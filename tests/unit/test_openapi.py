"""docs/openapi.json is generated from the API resolver (`closeloop openapi`) and must not drift from it."""

from __future__ import annotations

import json

from closeloop_cli.openapi import DEFAULT_OUT, openapi_document, render_document


def test_the_committed_openapi_document_is_up_to_date() -> None:
    # GIVEN the resolver WHEN its document is rendered THEN it equals the committed file
    assert DEFAULT_OUT.read_text(encoding="utf-8") == render_document(), "run `closeloop openapi`"


def test_the_document_lists_every_public_route() -> None:
    paths = openapi_document()["paths"]
    assert set(paths) == {"/webhooks/{provider}", "/s/{token}", "/u/{token}", "/d/{token}"}
    assert set(paths["/s/{token}"]) == {"get", "post"}
    assert set(paths["/u/{token}"]) == {"get", "post"}
    assert set(paths["/d/{token}"]) == {"get", "post"}
    for unsubscribe in ("/u/{token}", "/d/{token}"):
        one_click = paths[unsubscribe]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        assert json.dumps(one_click).count("One-Click") == 1
