#!/usr/bin/env bash
# Assembles small root filesystems for arm64 and armhf from real Debian packages
# (apt-get download with a foreign architecture, unpacked with dpkg-deb), with a
# dpkg status database, and packs them as the archives firmware ships:
#   DEST/<arch>/rootfs/            the tree
#   DEST/rootfs-arm64.tar.xz       (xz)   DEST/rootfs-armhf.tar.gz (gzip)
# The security tests read them through AITE_DEBIAN_ROOTFS=DEST and skip without it.
# Usage: .ci/debian-rootfs.sh DEST
set -euo pipefail
DEST="$(realpath -m "${1:?usage: debian-rootfs.sh DEST}")"
PACKAGES="libc6 libgcc-s1 libssl3 openssl busybox zlib1g libcrypt1 dropbear-bin lighttpd libpcre2-8-0 libzstd1 liblzma5 libbz2-1.0 libcap2 libselinux1 libmd0 libbsd0 libtommath1 libxxhash0 libattr1 libacl1 coreutils"
mkdir -p "$DEST"
command -v xz >/dev/null 2>&1 || apt-get install -y -qq xz-utils
for arch in arm64 armhf; do
  if [ -f "$DEST/$arch/done" ]; then continue; fi
  dpkg --print-foreign-architectures | grep -qx "$arch" || dpkg --add-architecture "$arch"
  added=1
done
if [ "${added:-0}" = 1 ]; then apt-get update -qq || true; fi
for arch in arm64 armhf; do
  if [ -f "$DEST/$arch/done" ]; then continue; fi
  rm -rf "$DEST/$arch" && mkdir -p "$DEST/$arch/debs" "$DEST/$arch/rootfs/var/lib/dpkg"
  ( cd "$DEST/$arch/debs" && apt-get download $(for p in $PACKAGES; do echo "$p:$arch"; done) )
  status="$DEST/$arch/rootfs/var/lib/dpkg/status"
  : > "$status"
  for deb in "$DEST/$arch"/debs/*.deb; do
    dpkg-deb -x "$deb" "$DEST/$arch/rootfs"
    dpkg-deb -f "$deb" Package Source Version Architecture Maintainer Description | sed '/^Description:/q' | sed '1a Status: install ok installed' >> "$status"
    echo >> "$status"
  done
  tar -C "$DEST/$arch/rootfs" -cf - . | if [ "$arch" = arm64 ]; then xz -T1 -6 > "$DEST/rootfs-$arch.tar.xz"; else gzip -6 > "$DEST/rootfs-$arch.tar.gz"; fi
  rm -rf "$DEST/$arch/debs"
  touch "$DEST/$arch/done"
done
ls -la "$DEST"
