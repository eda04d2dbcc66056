#!/bin/bash
# rekeyd responder <-> strongSwan: AES-CBC-256 + HMAC-SHA2-256 + MODP-2048, manual rekeys with Child PFS, colliding automatic rekeys without.
# Runs inside the UML guest (interop/run); see scenario.sh for the phases.
here=$(dirname "$0")
AUTO_S=${AUTO_S:-30}
. "$here/../lib.sh"
. "$here/swan.sh"
. "$here/scenario.sh"
sw_scenario strongswan/rekeyd-responder responder aes256-sha256-modp2048 \
    aes256-sha256-modp2048 aes256-sha256
