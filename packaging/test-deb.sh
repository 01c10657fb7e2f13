#!/usr/bin/env bash
# Builds the .deb from the test command's build folder, installs it with apt,
# checks the installed programs from a folder outside the source tree with a
# fresh HOME, and removes the package. Needs root (or sudo): it installs for real.
# One PASS/FAIL line per check; exits non-zero when any check fails.
#
#   packaging/test-deb.sh [BUILD_DIR]     (default build/)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$(realpath -m "${1:-build}")
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
data=/usr/share/droplora-workbench
tmp=$(mktemp -d)
chmod 755 "$tmp"
failed=0
installed=0
finished=0

pass() { echo "test-deb: PASS $1"; }
fail() {
  echo "test-deb: FAIL $1"
  [ -f "$tmp/log" ] && tail -n 25 "$tmp/log" | sed 's/^/    /'
  failed=$((failed + 1))
}
cleanup() {
  if [ "$installed" = 1 ]; then
    if $SUDO apt-get remove -y -qq droplora-workbench >"$tmp/log" 2>&1 && [ ! -e /usr/bin/droplora ] \
        && [ ! -e "$data" ]; then
      pass "apt-get remove droplora-workbench"
    else
      fail "apt-get remove droplora-workbench"
    fi
  fi
  rm -rf "$tmp"
  [ "$finished" = 1 ] || { echo "test-deb: FAIL stopped before the last check"; failed=$((failed + 1)); }
  if [ "$failed" -eq 0 ]; then echo "test-deb: all checks passed"; else echo "test-deb: $failed check(s) failed"; fi
  [ "$failed" -eq 0 ]
}
trap 'cleanup; exit $?' EXIT

# --- build ---------------------------------------------------------------
if DEB_OUT_DIR="$tmp/out" bash packaging/deb.sh "$build" >"$tmp/log" 2>&1; then
  deb=$(tail -n 1 "$tmp/log")
  pass "deb.sh builds $(basename "$deb") (lintian: no errors)"
  grep -E '^[WI]: ' "$tmp/log" | sed 's/^/    lintian /'
else
  fail "deb.sh builds the package (or lintian found errors)"
  finished=1
  exit 1
fi
version=$(dpkg-deb -f "$deb" Version)
depends=$(dpkg-deb -f "$deb" Depends)
missing=""
for lib in libtorch libqt6widgets6 libqcustomplot libyaml-cpp libsentencepiece libopenblas0-openmp; do
  grep -q "$lib" <<<"$depends" || missing+=" $lib"
done
if [ -z "$missing" ]; then pass "Depends names LibTorch, Qt 6, QCustomPlot, yaml-cpp, sentencepiece, OpenBLAS openmp"
else echo "Depends: $depends" >"$tmp/log"; fail "Depends lacks$missing"; fi

# --- install ---------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get install -y -qq "$deb" >"$tmp/log" 2>&1 && [ -x /usr/bin/droplora ]; then
  installed=1
  pass "apt-get install ./$(basename "$deb")"
else
  fail "apt-get install ./$(basename "$deb")"
  finished=1
  exit 1
fi

# --- the installed programs, from outside the source tree, as a fresh user ---
mkdir -p "$tmp/home" "$tmp/cli-data" "$tmp/gui-data" "$tmp/work"
cd "$tmp/work"
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache"
unset LD_LIBRARY_PATH DROPLORA_SPM_LIB QT_QPA_PLATFORM

if out=$(/usr/bin/droplora --version 2>"$tmp/log") && [ "$out" = "droplora $version" ]; then
  pass "droplora --version prints '$out'"
else
  echo "got: ${out:-}" >>"$tmp/log"; fail "droplora --version prints 'droplora $version'"
fi

if /usr/bin/droplora inspect "$data/models/demo-base" >"$tmp/log" 2>&1 && grep -qi "llama" "$tmp/log"; then
  pass "droplora inspect $data/models/demo-base"
else
  fail "droplora inspect $data/models/demo-base"
fi

# 20 steps of the installed demo: the run folder goes to $XDG_DATA_HOME, the shim comes
# from the package's private folder (LD_DEBUG shows which file dlopen mapped).
runs="$tmp/cli-data/droplora-workbench/runs"
if XDG_DATA_HOME="$tmp/cli-data" LD_DEBUG=files LD_DEBUG_OUTPUT="$tmp/ld" \
    /usr/bin/droplora train --config "$data/configs/demo.yaml" --set train.max_steps=20 --quiet >"$tmp/log" 2>&1 \
    && grep -q "run folder $runs/demo instead of" "$tmp/log" \
    && [ "$(grep -c '"kind": *"train"' "$runs/demo/metrics.jsonl")" -eq 20 ] \
    && [ -s "$runs/demo/adapter/adapter_model.safetensors" ] \
    && [ ! -e /usr/runs ] && [ ! -e "$data/runs" ]; then
  pass "droplora train (20 steps of $data/configs/demo.yaml) into $runs/demo"
else
  ls -R "$tmp/cli-data" >>"$tmp/log" 2>&1
  fail "droplora train (20 steps of $data/configs/demo.yaml) into \$XDG_DATA_HOME/droplora-workbench/runs/demo"
fi
if grep -hq "file=/usr/lib/.*droplora-workbench/libdroplora_spm.so" "$tmp"/ld.* 2>/dev/null; then
  pass "the tokenizer loads the sentencepiece shim from the package's private folder"
else
  grep -h "libdroplora_spm" "$tmp"/ld.* >"$tmp/log" 2>&1
  fail "the tokenizer loads the sentencepiece shim from the package's private folder"
fi
rm -f "$tmp"/ld.*

# The workbench with no --config opens the installed demo; its run folder goes to $XDG_DATA_HOME too.
shot="$tmp/workbench.png"
if XDG_DATA_HOME="$tmp/gui-data" timeout 300 xvfb-run -a -s "-screen 0 1600x1000x24" \
    /usr/bin/droplora-workbench --screenshot "$shot" --screenshot-after-steps 5 >"$tmp/log" 2>&1 \
    && [ -s "$shot" ] && [ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] \
    && [ -s "$tmp/gui-data/droplora-workbench/runs/demo/metrics.jsonl" ]; then
  pass "droplora-workbench --screenshot under Xvfb: $(stat -c %s "$shot")-byte PNG, run in \$XDG_DATA_HOME"
else
  fail "droplora-workbench --screenshot under Xvfb (installed demo, PNG, run in \$XDG_DATA_HOME)"
fi

desktop=/usr/share/applications/io.github.droplora.Workbench.desktop
if desktop-file-validate "$desktop" >"$tmp/log" 2>&1 && ! grep -qE "error|warning" "$tmp/log" \
    && grep -q "^Name=DropLoRA Workbench$" "$desktop"; then
  pass "desktop-file-validate $desktop"
else
  fail "desktop-file-validate $desktop"
fi

metainfo=/usr/share/metainfo/io.github.droplora.Workbench.metainfo.xml
# --no-net: the screenshot addresses are not fetched (CI may have no network).
if appstreamcli validate --no-net "$metainfo" >"$tmp/log" 2>&1; then
  pass "appstreamcli validate $metainfo"
else
  fail "appstreamcli validate $metainfo"
fi

missing=""
for f in /usr/share/man/man1/droplora.1.gz /usr/share/man/man1/droplora-workbench.1.gz \
    /usr/share/bash-completion/completions/droplora /usr/share/icons/hicolor/scalable/apps/io.github.droplora.Workbench.svg \
    /usr/share/icons/hicolor/48x48/apps/io.github.droplora.Workbench.png /usr/share/doc/droplora-workbench/copyright; do
  [ -s "$f" ] || missing+=" $f"
done
if [ -z "$missing" ]; then pass "man pages, bash completion, icons and copyright installed"
else : >"$tmp/log"; fail "installed files missing:$missing"; fi
finished=1
