#!/bin/bash
# rekeyd initiator <-> strongSwan: AES-GCM-16 + X25519, manual rekeys both sides, colliding automatic rekeys with Child PFS.
# Runs inside the UML guest (interop/run); see scenario.sh for the phases.
here=$(dirname "$0")
AUTO_S=${AUTO_S:-60} # automatic rekeys over a full minute here (issue 7)
. "$here/../lib.sh"
. "$here/swan.sh"
. "$here/scenario.sh"
sw_scenario strongswan/rekeyd-initiator initiator aes256gcm16-prfsha256-x25519 \
    aes256gcm16 aes256gcm16-x25519
