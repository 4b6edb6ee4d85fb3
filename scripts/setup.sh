#!/usr/bin/env bash
# setup.sh -- make a fresh Debian 12 ready to build, test and run mvbackupfs, then build it.
#
#   scripts/setup.sh            install what is missing (apt), npm ci for the Milvus stand-in,
#                               configure and build into build/ (binary: build/mvbackupfs)
#
# Idempotent and non-interactive.  apt is skipped entirely when every package is installed (a
# re-run costs only the incremental build); `apt-get update` runs only when the package lists are
# missing or an install fails.  Runs as root, or through sudo.
# Environment: BUILD_DIR (default build), BUILD_TYPE (default RelWithDebInfo), JOBS (default 2),
# SETUP_NO_BUILD=1 (packages only).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$top/$BUILD_DIR" ;; esac
JOBS=${JOBS:-2}
log() { echo "setup: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Build: compiler, CMake, the libraries the daemon links against, protoc-c, cmocka; clang and its
# libFuzzer/sanitizer runtimes for the fuzz targets (scripts/fuzz.sh).
# Test: FUSE tools, the S3 server (Ceph RGW), copy/compare tools, valgrind, node for the stand-in.
PACKAGES=(
	build-essential cmake pkg-config
	libfuse3-dev fuse3
	libcurl4-openssl-dev libssl-dev libyaml-dev libjansson-dev libexpat1-dev
	libprotobuf-c-dev protobuf-c-compiler
	libcmocka-dev
	clang libclang-rt-14-dev
	ceph-mon ceph-osd radosgw ceph-common ceph-base
	uuid-runtime curl ca-certificates openssl jq rsync rclone valgrind attr procps psmisc
	nodejs npm python3
)
# Packages that other sources may provide: present when the command exists (NodeSource's nodejs
# bundles npm and conflicts with Debian's npm package).
declare -A PROVIDES=([nodejs]=node [npm]=npm [python3]=python3)

SUDO=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || die "not root and no sudo: run this script as root"
	SUDO=(sudo -n)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if [ -n "${PROVIDES[$p]:-}" ] && command -v "${PROVIDES[$p]}" >/dev/null 2>&1; then
		continue
	fi
	# "install ok installed" only: a removed-but-configured package counts as missing
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt_install() {
		"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q \
			--no-install-recommends "${missing[@]}" >&2
	}
	# The package lists of a fresh image are often empty: update only then, or on failure.
	if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
		"${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=900 update -q >&2 || die "apt-get update failed"
	fi
	apt_install || { "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=900 update -q >&2 && apt_install; } \
		|| die "apt-get install failed"
else
	log "all ${#PACKAGES[@]} packages present"
fi

# The Milvus stand-in's node modules (only when that directory carries a lock file).
standin="$top/tests/milvus-standin"
if [ -f "$standin/package-lock.json" ]; then
	stamp="$standin/node_modules/.package-lock.json"
	if [ -d "$standin/node_modules" ] && [ "$stamp" -nt "$standin/package-lock.json" ]; then
		log "tests/milvus-standin: node_modules up to date"
	else
		log "tests/milvus-standin: npm ci"
		(cd "$standin" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in '$standin'"
	fi
fi

[ "${SETUP_NO_BUILD:-0}" = 1 ] && exit 0

log "building into $BUILD_DIR"
cmake -S "$top" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" ${CMAKE_ARGS:-} >/dev/null \
	|| die "cmake configure failed"
cmake --build "$BUILD_DIR" -j"$JOBS" || die "build failed"
[ -x "$BUILD_DIR/mvbackupfs" ] || die "no '$BUILD_DIR/mvbackupfs' after the build"
log "built $BUILD_DIR/mvbackupfs"
