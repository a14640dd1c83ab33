#!/usr/bin/env bash
# Regenerates the Swift code of Protos/*.proto with Debian's protoc and the protoc plugins
# built from the package copies (slow the first time: the plugins compile):
#   keyquarry.proto, admin.proto → Sources/KeyquarryProtos (messages and gRPC, public)
#   snapshot.proto               → Sources/Persistence/Generated (the storage format)
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

wire=Sources/KeyquarryProtos
storage=Sources/Persistence/Generated
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  wire=$out/wire storage=$out/storage
fi
mkdir -p "$wire" "$storage"

protoc -I Protos \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
  --swift_out="$wire" --swift_opt=Visibility=Public \
  --grpc-swift-2_out="$wire" --grpc-swift-2_opt=Visibility=Public \
  Protos/keyquarry.proto Protos/admin.proto
protoc -I Protos --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --swift_out="$storage" Protos/snapshot.proto

if [ "${1:-}" = "--check" ]; then
  diff -r "$wire" Sources/KeyquarryProtos && diff -r "$storage" Sources/Persistence/Generated \
    && echo "generated code is up to date"
fi
