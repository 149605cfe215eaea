"""Validates REST API v3 bodies against tests/http/rest_v3_schemas.yaml.

The YAML is our JSON-Schema transcription of Confluent's kafka-rest v3 spec
(components/schemas). This module loads it once, inlines `#/schemas/<Name>`
references, flattens each `allOf` of objects into one object (properties
and required lists merged) and, in strict mode (the default), closes every
object so a field the spec does not name is an error, as a misspelled
optional field would otherwise pass silently.

    from rest_schema import curl, curl_json, validate
    validate(body, "TopicDataList")            # raises SchemaError
    validate(body, "TopicData", strict=False)  # the spec's open objects
    status, text = curl("GET", url)            # the REST tests' HTTP client (curl)
    body = curl_json("GET", url, schema_name="TopicData", status=200)  # both at once

Run directly (`/usr/bin/python3 rest_schema.py`) for a self-test.
"""

import copy
import functools
import json
import os
import subprocess

import jsonschema
import yaml

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http", "rest_v3_schemas.yaml")
_REF_PREFIX = "#/schemas/"


class SchemaError(AssertionError):
    """A body that does not match its schema (an AssertionError, so pytest shows it as a failed check)."""


@functools.lru_cache(maxsize=1)
def _raw():
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        return yaml.safe_load(f)["schemas"]


def names():
    """The schema names the YAML defines."""
    return sorted(_raw())


def _resolve(node, raw, strict, seen):
    if isinstance(node, list):
        return [_resolve(n, raw, strict, seen) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith(_REF_PREFIX) or ref[len(_REF_PREFIX):] not in raw:
            raise KeyError(f"unresolvable reference {ref!r}")
        name = ref[len(_REF_PREFIX):]
        if name in seen:
            raise ValueError(f"reference cycle through {name}")
        return _resolve(copy.deepcopy(raw[name]), raw, strict, seen | {name})
    out = {k: _resolve(v, raw, strict, seen) for k, v in node.items()}
    if "allOf" in out:
        parts = out.pop("allOf")
        merged = {"type": "object", "properties": {}, "required": []}
        for part in parts + [out]:
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += [r for r in part.get("required", []) if r not in merged["required"]]
        out = merged
    types = out.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    if strict and is_object and "properties" in out:
        out["additionalProperties"] = False
    return out


@functools.lru_cache(maxsize=None)
def schema(name, strict=True):
    """The fully resolved JSON Schema (draft 7) for `name`."""
    raw = _raw()
    if name not in raw:
        raise KeyError(f"no schema {name!r} in {SCHEMA_FILE}")
    resolved = _resolve(copy.deepcopy(raw[name]), raw, strict, frozenset([name]))
    jsonschema.Draft7Validator.check_schema(resolved)
    return resolved


def validate(body, name, strict=True):
    """Checks `body` (parsed JSON) against schema `name`; raises SchemaError listing every mismatch."""
    validator = jsonschema.Draft7Validator(schema(name, strict))
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]
        raise SchemaError(f"body does not match {name}:\n  " + "\n  ".join(lines))
    return body


def curl(method, url, body=None, content_type="application/json", timeout=60, headers=()):
    """One request with curl; returns (HTTP status, response text). `body` (str or bytes) is sent as is,
    with `headers` ("Name: value") added."""
    args = ["curl", "-sS", "-X", method, "--max-time", str(timeout), "-o", "-", "-w", "\n%{http_code}", url]
    for h in headers:
        args += ["-H", h]
    data = None
    if body is not None:
        args += ["-H", f"Content-Type: {content_type}", "--data-binary", "@-"]
        data = body.encode() if isinstance(body, str) else body
    p = subprocess.run(args, input=data, capture_output=True, timeout=timeout + 10)
    if p.returncode != 0:
        raise AssertionError(f"curl {method} {url} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    text, _, code = p.stdout.decode().rpartition("\n")
    return int(code), text


def curl_json(method, url, body=None, schema_name=None, status=200):
    """curl, then: the status must be `status`, the body JSON (validated against `schema_name` if given)."""
    code, text = curl(method, url, body)
    assert code == status, f"{method} {url}: HTTP {code}, expected {status}: {text[:2000]}"
    parsed = json.loads(text)
    if schema_name:
        validate(parsed, schema_name)
    return parsed


def self_test():
    for n in names():
        schema(n)
        schema(n, strict=False)
    base = "http://h:1/v3/clusters/c1"
    topic = {
        "kind": "KafkaTopic",
        "metadata": {"self": f"{base}/topics/t", "resource_name": "crn:///kafka=c1/topic=t"},
        "cluster_id": "c1", "topic_name": "t", "is_internal": False, "replication_factor": 1,
        "partitions_count": 2, "partitions": {"related": f"{base}/topics/t/partitions"},
        "configs": {"related": f"{base}/topics/t/configs"},
        "partition_reassignments": {"related": f"{base}/topics/t/partitions/-/reassignment"},
    }
    validate(topic, "TopicData")
    validate({"kind": "KafkaTopicList", "metadata": {"self": f"{base}/topics", "next": None}, "data": [topic]},
             "TopicDataList")
    bad_cases = [
        ({k: v for k, v in topic.items() if k != "partitions_count"}, "partitions_count"),  # required field missing
        (dict(topic, replication_factor="1"), "replication_factor"),                        # wrong type
        (dict(topic, partition_count=2), "partition_count"),                                # unknown field (strict)
        (dict(topic, metadata={"resource_name": None}), "self"),                            # nested required
    ]
    for body, word in bad_cases:
        try:
            validate(body, "TopicData")
        except SchemaError as e:
            assert word in str(e), str(e)
        else:
            raise AssertionError(f"accepted a bad TopicData ({word})")
    validate(dict(topic, partition_count=2), "TopicData", strict=False)  # the spec's objects are open
    validate({"error_code": 404, "message": "Cluster x cannot be found."}, "Error")
    validate({"error_code": 200, "cluster_id": "c1", "topic_name": "t", "partition_id": 0, "offset": 5,
              "timestamp": "2021-02-05T19:14:42.000Z", "key": None, "value": {"type": "JSON", "size": 15}},
             "ProduceResponse")
    try:
        validate({"error_code": 200, "value": {"type": "JSON"}}, "ProduceResponse")
    except SchemaError as e:
        assert "size" in str(e)
    else:
        raise AssertionError("accepted ProduceResponseData without size")
    print(f"rest_schema self-test: {len(names())} schemas OK")


if __name__ == "__main__":
    self_test()
