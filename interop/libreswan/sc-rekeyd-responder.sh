#!/bin/bash
# rekeyd responder <-> Libreswan 4.10: AES-CBC-256 + HMAC-SHA2-256 + MODP-2048, manual rekeys both sides with Child PFS, automatic rekeys without.
# Runs inside the UML guest (interop/run); see scenario.sh for the phases.
here=$(dirname "$0")
. "$here/../lib.sh"
. "$here/lsw.sh"
. "$here/scenario.sh"
lsw_scenario libreswan/rekeyd-responder responder aes256-sha256-modp2048 \
    aes256-sha256-modp2048 aes256-sha256
