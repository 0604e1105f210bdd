#!/usr/bin/env bash
# Builds one libFuzzer executable per parser that takes outside input, with Swift's
# `-sanitize=fuzzer,address` (libFuzzer + AddressSanitizer, Linux). Each target is compiled from the
# library's own sources (Sources/...) plus its harness in targets/, so no package product is needed.
#   Benchmarks/fuzz/build.sh [target…]      targets: json logline signature settings keys (default: all)
# Output: .build-fuzz/fuzz-<target>. The `signature` and `keys` targets link swift-crypto's and
# swift-http-structured-headers' objects from the package's own debug build: run `swift build` (or
# `swift build --build-tests`) first, in a build folder that never held another swift-crypto version
# (its stale objects give "multiple definition" link errors: `rm -rf .build` then build again).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH=/opt/swift/usr/bin:$PATH
out="$root/.build-fuzz"
mkdir -p "$out"
# AddressSanitizer where the code reads through unsafe buffers (JSON, log lines, signatures); the settings and
# keys parsers are safe Swift (String), where libFuzzer alone finds traps (overflow, bounds) at twice the speed.
asan=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6)
plain=(-sanitize=fuzzer -parse-as-library -O -g -swift-version 6)
S="$root/Sources"

crypto_flags() {
    local bin="$root/.build/debug"
    [[ -d "$bin/Modules" ]] || bin="$root/.build/$(uname -m)-unknown-linux-gnu/debug"
    [[ -d "$bin/Modules" ]] || { echo "no $bin/Modules: run 'swift build' in $root first" >&2; exit 1; }
    local objs=()
    for d in Crypto CCryptoBoringSSL CCryptoBoringSSLShims CryptoBoringWrapper CXKCP CXKCPShims RawStructuredFieldValues StructuredFieldValues; do
        [[ -d "$bin/$d.build" ]] && while IFS= read -r o; do objs+=("$o"); done < <(find "$bin/$d.build" -name '*.o')
    done
    local maps=()
    while IFS= read -r m; do maps+=(-Xcc "-fmodule-map-file=$m"); done < <(find "$root/.build/checkouts/swift-crypto/Sources" -name module.modulemap)
    CRYPTO=(-I "$bin/Modules" "${maps[@]}" "${objs[@]}" -lstdc++)
}

# SystemSupport (the file reads of SettingsFile and KeyStore) from the same debug build: its module, its objects,
# the C module maps it imports and the libraries they link.
system_flags() {
    local bin="$root/.build/debug"
    [[ -d "$bin/Modules" ]] || bin="$root/.build/$(uname -m)-unknown-linux-gnu/debug"
    [[ -f "$bin/Modules/SystemSupport.swiftmodule" ]] || { echo "no SystemSupport module in $bin: run 'swift build' in $root first" >&2; exit 1; }
    # `package` declarations (FileContents) are visible to the same -package-name: SwiftPM's identity of the root
    # package, the checkout folder's name in lower case with other characters as `_`.
    local pkg; pkg=$(basename "$root" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9_]/_/g')
    SYSTEM=(-package-name "$pkg" -I "$bin/Modules" -Xcc "-fmodule-map-file=$S/CCurl/module.modulemap" -Xcc "-fmodule-map-file=$S/CZlib/module.modulemap"
        $(find "$bin/SystemSupport.build" -name '*.o') -lcurl -lz)
}

build() {
    local name="$1"; shift
    local flags=("${asan[@]}")
    [[ "$name" == settings || "$name" == keys ]] && flags=("${plain[@]}")
    echo "building fuzz-$name" >&2
    # (gold warns once per AddressSanitizer helper symbol that it cannot export: harmless, filtered)
    swiftc "${flags[@]}" -module-name "Fuzz_$name" "$@" "$here/targets/$name.swift" -o "$out/fuzz-$name" 2>&1 \
        | { grep -v "Cannot export local symbol" || true; } >&2
    [[ -x "$out/fuzz-$name" ]]
}

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(json logline signature settings keys)
for t in "${targets[@]}"; do
    case "$t" in
    json)
        build json "$S"/MetricsModel/{JSONParser,JSONValue,JSONWriter,Batch,ClowderEvent,Point,Message,PointsMessage,ModelError}.swift ;;
    logline)
        build logline -I "$S/CPCRE2" -lpcre2-8 $(find "$S/Parsers" -name '*.swift') ;;
    settings)
        system_flags
        build settings "${SYSTEM[@]}" "$S"/Agent/Config/{SettingsFile,ConfigError,Trimming}.swift ;;
    signature)
        crypto_flags
        build signature "${CRYPTO[@]}" $(find "$S/MetricsModel" -name '*.swift') ;;
    keys)
        crypto_flags
        system_flags
        build keys "${CRYPTO[@]}" "${SYSTEM[@]}" "$S"/Ingest/Auth/KeyStore.swift "$S"/Ingest/IngestError.swift ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
    esac
done
