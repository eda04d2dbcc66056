#!/bin/bash
# rekeyd initiator <-> strongSwan: AES-GCM-16 + X25519, manual rekeys both sides, colliding automatic rekeys with Child PFS.
# Runs inside the UML guest (interop/run); see scenario.sh for the phases.
here=$(dirname "$0")
# 30 s of automatic rekeys (3 colliding Child rekeys, 1 IKE), like the
# responder's, to keep CI short (issue 8); phase 1 rekeys the IKE SA twice
# in a row by hand. AUTO_S=60 here gives issue 7's minute-long run.
AUTO_S=${AUTO_S:-30}
. "$here/../lib.sh"
. "$here/swan.sh"
. "$here/scenario.sh"
sw_scenario strongswan/rekeyd-initiator initiator aes256gcm16-prfsha256-x25519 \
    aes256gcm16 aes256gcm16-x25519
