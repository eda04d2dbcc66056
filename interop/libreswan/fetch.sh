#!/bin/bash
# interop/libreswan/fetch.sh: puts Libreswan 4.10 (Debian's package) and the
# runtime libraries it needs into a cache folder WITHOUT installing it:
# Debian's libreswan Conflicts with strongswan-libcharon/-starter, and the
# interop tests need both peers on one machine (DESIGN.md section 7).
#
#   fetch.sh [--check] [DIR]      DIR defaults to $REKEYD_LIBRESWAN_DIR, else
#                                 ~/.cache/rekeyd/libreswan
#
# Idempotent: when DIR/.complete exists (written last, after the checks
# below), nothing is downloaded or queried. Otherwise `apt-get download` fetches libreswan plus every package
# that `apt-get -s install libreswan` would newly install (its libraries that
# this machine lacks; never the packages it would upgrade or remove), and
# `dpkg-deb -x` unpacks each into DIR. The script then proves the result runs:
# no library of pluto, whack or certutil is missing (ldd with
# DIR/env.sh's LD_LIBRARY_PATH) and certutil creates an NSS database.
# DIR/env.sh sets LSW_DIR, LSW_LIBEXEC, LSW_PLUTO, LSW_WHACK, LSW_CERTUTIL and
# LD_LIBRARY_PATH for the scenarios. It never touches the system's packages
# beyond `apt-get update` when the package lists are empty. Exit 0 when DIR is
# ready; non-zero with one line on stderr otherwise. --check only reports
# whether DIR is ready (exit 0/1), without downloading.
set -euo pipefail

check_only=0
if [ "${1:-}" = --check ]; then check_only=1; shift; fi
dir=${1:-${REKEYD_LIBRESWAN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rekeyd/libreswan}}
die() { echo "fetch.sh: $*" >&2; exit 1; }

# Runtime libraries go where Debian puts them; pluto finds them through
# LD_LIBRARY_PATH (env.sh) because they are not in ld.so's cache.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)

# Fast path: an unpacked tree is kept as it is (delete DIR to refetch).
if [ -f "$dir/.complete" ] && [ -x "$dir/usr/libexec/ipsec/pluto" ] && [ -f "$dir/env.sh" ]; then
    exit 0
fi

want=$(apt-cache policy libreswan 2>/dev/null | sed -n 's/^ *Candidate: //p')
if [ -z "$want" ] || [ "$want" = "(none)" ]; then
    [ $check_only = 0 ] || exit 1
    apt-get update -qq || die "apt-get update failed"
    want=$(apt-cache policy libreswan | sed -n 's/^ *Candidate: //p')
    if [ -z "$want" ] || [ "$want" = "(none)" ]; then die "no libreswan package in the apt sources"; fi
fi

ready() {
    [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$want" ] &&
        [ -x "$dir/usr/libexec/ipsec/pluto" ] && [ -f "$dir/env.sh" ]
}
if ready; then exit 0; fi
[ $check_only = 0 ] || exit 1

# Packages to unpack: libreswan and what a real install would newly add
# ("Inst NAME (VERSION ...)" with no "[OLD]" after the name). Upgrades are
# skipped: the installed version satisfies the library ABI.
mapfile -t pkgs < <(apt-get -s -o Debug::NoLocking=1 install --no-install-recommends libreswan 2>/dev/null |
    sed -n 's/^Inst \([^ ]*\) (.*/\1/p')
[ ${#pkgs[@]} -gt 0 ] || die "apt-get -s install libreswan listed nothing to install"
case " ${pkgs[*]} " in *" libreswan "*) ;; *) pkgs+=(libreswan) ;; esac

tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/debs"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" "$tmp/debs"
echo "fetch.sh: downloading ${pkgs[*]}"
# The sandbox user _apt cannot write into a root-owned folder under $HOME.
(cd "$tmp/debs" && apt-get download -q -o APT::Sandbox::User=root "${pkgs[@]}" >/dev/null) ||
    die "apt-get download failed for: ${pkgs[*]}"
for deb in "$tmp"/debs/*.deb; do
    dpkg-deb -x "$deb" "$tmp" || die "dpkg-deb -x $deb failed"
done
rm -rf "$tmp/debs"

libs="$dir/usr/lib/$multiarch:$dir/lib/$multiarch:$dir/usr/lib/$multiarch/nss"
cat >"$tmp/env.sh" <<EOF
# Sourced by the Libreswan scenarios (written by interop/libreswan/fetch.sh).
LSW_DIR=$dir
LSW_VERSION=$want
LSW_LIBEXEC=$dir/usr/libexec/ipsec
LSW_PLUTO=$dir/usr/libexec/ipsec/pluto
LSW_WHACK=$dir/usr/libexec/ipsec/whack
LSW_ADDCONN=$dir/usr/libexec/ipsec/addconn
LSW_CERTUTIL=\$(if [ -x $dir/usr/bin/certutil ]; then echo $dir/usr/bin/certutil; else command -v certutil; fi)
export LD_LIBRARY_PATH=$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
EOF

# Prove it runs before calling it ready (paths inside env.sh point at $dir,
# so check with the temporary tree's libraries).
export LD_LIBRARY_PATH="$tmp/usr/lib/$multiarch:$tmp/lib/$multiarch:$tmp/usr/lib/$multiarch/nss${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
certutil=$tmp/usr/bin/certutil
[ -x "$certutil" ] || certutil=$(command -v certutil) || die "no certutil (libnss3-tools) unpacked or installed"
for bin in "$tmp/usr/libexec/ipsec/pluto" "$tmp/usr/libexec/ipsec/whack" \
    "$tmp/usr/libexec/ipsec/addconn" "$certutil"; do
    [ -x "$bin" ] || die "missing $bin after unpacking"
    if ldd "$bin" | grep -q 'not found'; then
        die "$(basename "$bin") lacks libraries: $(ldd "$bin" | grep 'not found' | tr -s ' \t\n' ' ')"
    fi
done
mkdir "$tmp/nss-probe"
"$certutil" -N -d "sql:$tmp/nss-probe" --empty-password >/dev/null ||
    die "certutil could not create an NSS database"
rm -rf "$tmp/nss-probe"
echo "$want" >"$tmp/.complete"

rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
mv "$tmp" "$dir"
trap - EXIT
echo "fetch.sh: libreswan $want ready in $dir"
