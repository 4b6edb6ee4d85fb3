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
# SETUP_NO_BUILD=1 (packages only), SETUP_NO_REAL=1 (no .venv/.tools: the real Milvus, MinIO, mc).
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
	uuid-runtime curl ca-certificates openssl jq rsync rclone s3fs valgrind attr procps psmisc iproute2
	nodejs npm python3
	tzdata man-db groff-base
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

# The real components of the suites on real parts (tests/real): Milvus 2.3.5 (the newest with a
# Linux wheel) and pymilvus in a venv at .venv, the server unpacked once into
# .tools/milvus-2.3.5, MinIO and mc built with `go install` into .tools/bin.  Pinned; each step
# is skipped when its result is there.  SETUP_NO_REAL=1 skips this section.
REAL_PIP=("milvus==2.3.5" "pymilvus==2.3.8" "setuptools<70" "marshmallow<4")
MINIO_MOD=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
MC_MOD=github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9
if [ "${SETUP_NO_REAL:-0}" != 1 ]; then
	venv="$top/.venv" tools="$top/.tools"
	stamp="$venv/.mvbackupfs-pins"
	if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${REAL_PIP[*]}" ]; then
		log ".venv: ${REAL_PIP[*]} present"
	else
		log ".venv: installing ${REAL_PIP[*]}"
		if ! python3 -m venv "$venv" >&2 2>/dev/null; then
			# Debian's python3 needs python3-venv for ensurepip
			"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 \
				install -y -q --no-install-recommends python3-venv >&2 || die "cannot install python3-venv"
			python3 -m venv "$venv" >&2 || die "cannot make the venv '$venv'"
		fi
		"$venv/bin/pip" install -q --disable-pip-version-check "${REAL_PIP[@]}" >&2 \
			|| die "pip install ${REAL_PIP[*]} failed"
		echo "${REAL_PIP[*]}" >"$stamp"
	fi
	# the server binaries, as the milvus package's own launcher unpacks them (md5 stamps: only
	# what changed is unpacked again)
	if [ ! -x "$tools/milvus-2.3.5/bin/milvus" ] || [ "$stamp" -nt "$tools/milvus-2.3.5/bin/milvus" ]; then
		log "unpacking the Milvus 2.3.5 server into $tools/milvus-2.3.5"
		mkdir -p "$tools/milvus-2.3.5"
		"$venv/bin/python" -c 'import milvus, sys; milvus._initialize_data_files(sys.argv[1])' \
			"$tools/milvus-2.3.5" || die "cannot unpack the Milvus server"
		touch "$tools/milvus-2.3.5/bin/milvus"
	fi
	command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
	command -v go >/dev/null 2>&1 || die "no go toolchain: MinIO and mc are built with go install"
	for mod in "$MINIO_MOD" "$MC_MOD"; do
		name=${mod%@*}; name=${name##*/}
		if [ -x "$tools/bin/$name" ] && [ "$(cat "$tools/bin/.$name.version" 2>/dev/null)" = "$mod" ]; then
			log "$tools/bin/$name: $mod present"
			continue
		fi
		log "go install $mod (about 5 minutes on a new machine)"
		mkdir -p "$tools/bin"
		GOBIN="$tools/bin" GOFLAGS=-buildvcs=false go install "$mod" >&2 || die "go install $mod failed"
		echo "$mod" >"$tools/bin/.$name.version"
	done
fi

[ "${SETUP_NO_BUILD:-0}" = 1 ] && exit 0

log "building into $BUILD_DIR"
cmake -S "$top" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" ${CMAKE_ARGS:-} >/dev/null \
	|| die "cmake configure failed"
cmake --build "$BUILD_DIR" -j"$JOBS" || die "build failed"
[ -x "$BUILD_DIR/mvbackupfs" ] || die "no '$BUILD_DIR/mvbackupfs' after the build"
log "built $BUILD_DIR/mvbackupfs"
