#!/usr/bin/env bash
# Regenerates Sources/KeyquarryProtos from Protos/*.proto with Debian's protoc and the
# protoc plugins built from the package copies (slow the first time: the plugins compile).
# Usage: scripts/generate-protos.sh [--check]   (--check: fail if the committed code differs)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
  apt-get update -qq && apt-get install -y -qq protobuf-compiler
fi

scratch=.build-protoc
swift build -c release --scratch-path "$scratch" --product protoc-gen-swift
swift build -c release --scratch-path "$scratch" --product protoc-gen-grpc-swift-2
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

out=Sources/KeyquarryProtos
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

protoc -I Protos \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
  --swift_out="$out" --swift_opt=Visibility=Public \
  --grpc-swift-2_out="$out" --grpc-swift-2_opt=Visibility=Public \
  Protos/keyquarry.proto Protos/admin.proto

if [ "${1:-}" = "--check" ]; then
  diff -r "$out" Sources/KeyquarryProtos && echo "generated code is up to date"
fi
