"""Builds the Go test clients under tests/integration/go/ offline from
Debian's packaged sources (/usr/share/gocode), in GOPATH mode.

Go modules are off (GO111MODULE=off, GOPROXY=off, GOFLAGS empty): imports
resolve from GOPATH=<build>/go/path:/usr/share/gocode, where Debian's
golang-*-dev packages install their sources, so nothing is downloaded. The
build cache (GOCACHE) lives in build/go/cache (beside FLOTILLA_BIN), so a second run only links.
A client whose Debian package is missing is a pytest.skip naming the
package; a failed build is an error.
"""
import os
import shutil
import subprocess

import pytest

from conftest import BIN

GO_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "go")
GOCODE = "/usr/share/gocode/src"
GO_BUILD = os.path.join(os.path.dirname(os.path.abspath(BIN)), "go")  # beside the flotilla binary: build/go

# client directory -> (Debian package, import path that must exist, extra check)
PACKAGES = {
    "sarama": ("golang-github-shopify-sarama-dev", "github.com/Shopify/sarama"),
    "kafkago": ("golang-github-segmentio-kafka-go-dev", "github.com/segmentio/kafka-go"),
    "confluent": ("golang-github-confluentinc-confluent-kafka-go-dev", "github.com/confluentinc/confluent-kafka-go/kafka"),
}

_built = {}


def go_env():
    env = dict(os.environ)
    env.update({
        "GO111MODULE": "off",
        "GOPROXY": "off",
        "GOFLAGS": "",
        "GOPATH": os.path.join(GO_BUILD, "path") + ":/usr/share/gocode",
        "GOCACHE": os.path.join(GO_BUILD, "cache"),
        "CGO_ENABLED": "1",
        # Deprecation warnings in Debian's cgo packages (DataDog/zstd) are noise.
        "CGO_CFLAGS": "-O2 -Wno-deprecated-declarations",
    })
    return env


def go_client(name):
    """Path of the built client `name`, or pytest.skip when go or the
    client's Debian package is missing."""
    if name in _built:
        return _built[name]
    if shutil.which("go") is None:
        pytest.skip("go not installed (Debian package golang-go)")
    pkg, import_path = PACKAGES[name]
    if not os.path.isdir(os.path.join(GOCODE, import_path)):
        pytest.skip(f"{import_path} not installed (Debian package {pkg})")
    if name == "confluent" and subprocess.run(["pkg-config", "--exists", "rdkafka"]).returncode != 0:
        pytest.skip("librdkafka headers not installed (Debian package librdkafka-dev)")
    os.makedirs(os.path.join(GO_BUILD, "path"), exist_ok=True)
    out = os.path.join(GO_BUILD, "bin", name)
    p = subprocess.run(["go", "build", "-o", out, "."], cwd=os.path.join(GO_SRC, name), env=go_env(),
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, f"go build of {name} failed:\n{p.stdout}\n{p.stderr}"
    _built[name] = out
    return out
