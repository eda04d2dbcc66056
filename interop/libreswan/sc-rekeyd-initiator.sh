#!/bin/bash
# rekeyd initiator <-> Libreswan 4.10: AES-GCM-16 + X25519, manual rekeys both sides (no PFS), automatic rekeys with Child PFS.
# Runs inside the UML guest (interop/run); see scenario.sh for the phases.
here=$(dirname "$0")
. "$here/../lib.sh"
. "$here/lsw.sh"
. "$here/scenario.sh"
lsw_scenario libreswan/rekeyd-initiator initiator aes256gcm16-prfsha256-x25519 \
    aes256gcm16 aes256gcm16-x25519
