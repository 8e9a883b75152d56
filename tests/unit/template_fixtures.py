"""The template as tests read it: as written, and as CloudFormation sees it after SAM's transform."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

from bookhook_dev.testing.template import load_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture
def translated(template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The template as CloudFormation sees it after the SAM transform."""
    # The translator only reads the region (for the partition) from the environment.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    sam_template = copy.deepcopy(template)
    for resource in sam_template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # `sam package` replaces the local CodeUri with an S3 one; the translator requires that.
            resource["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    translator = Translator(managed_policy_map={}, sam_parser=Parser())
    result: dict[str, Any] = translator.translate(sam_template=sam_template, parameter_values={})
    return result


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }
