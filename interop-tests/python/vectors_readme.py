"""The prose for zmtp/tests/vectors/README.md and the script's hex dumps.

This module owns what the vectors README says: one description per file and
the list of facts about libzmq's bytes. capture_vectors.py checks every fact
stated here (see its `check_facts`) before writing the README, so the
prose cannot drift from what libzmq actually does.
"""

DESCRIPTIONS = {
    "greeting_stage1_signature.bin":
        "DEALER, ROUTING_ID=\"client\", NULL. The bytes libzmq sends right after the TCP "
        "connection is made, before receiving anything: `ff`, padding `00 00 00 00 00 00 00 07` "
        "(routing id length + 1), `7f`.",
    "greeting_stage2_major.bin":
        "Same connection, after we sent only our 10-byte signature: the major version `03`.",
    "greeting_null.bin":
        "DEALER, ROUTING_ID=\"client\", NULL. Full 64-byte greeting: signature (padding u64 BE "
        "7), version `03 01`, \"NULL\" + 16 NULs, as-server `00`, 31 NULs.",
    "greeting_null_no_identity.bin":
        "DEALER, no routing id, NULL. Full greeting; padding is u64 BE 1.",
    "greeting_plain_server.bin":
        "ROUTER, PLAIN_SERVER=1. Greeting with mechanism \"PLAIN\" and as-server `00` (sic: "
        "libzmq never sets as-server).",
    "greeting_plain_client.bin":
        "DEALER, PLAIN_USERNAME=admin, PLAIN_PASSWORD=secret. Greeting with \"PLAIN\", "
        "as-server `00`.",
    "ready_dealer_identity.bin":
        "DEALER, ROUTING_ID=\"client\". READY: `04 2f 05`READY, Socket-Type=DEALER, "
        "Identity=client.",
    "ready_req.bin":
        "REQ, no routing id. READY: Socket-Type=REQ, then Identity with an empty value "
        "(`08`Identity`00 00 00 00`).",
    "ready_router.bin": "ROUTER. READY: Socket-Type=ROUTER, empty Identity.",
    "ready_rep.bin": "REP. READY: Socket-Type=REP only.",
    "ready_pub.bin": "PUB. READY: Socket-Type=PUB only.",
    "ready_sub.bin": "SUB. READY: Socket-Type=SUB only.",
    "ready_xpub.bin": "XPUB. READY: Socket-Type=XPUB only.",
    "ready_xsub.bin": "XSUB. READY: Socket-Type=XSUB only.",
    "ready_push.bin": "PUSH. READY: Socket-Type=PUSH only.",
    "ready_pull.bin": "PULL. READY: Socket-Type=PULL only.",
    "ready_pair.bin": "PAIR. READY: Socket-Type=PAIR only.",
    "ready_metadata.bin":
        "DEALER, ZMQ_METADATA=\"X-Name:value\". READY: Socket-Type=DEALER, empty Identity, "
        "then X-Name=value.",
    "plain_hello.bin":
        "DEALER as PLAIN client (admin/secret), after our greeting. HELLO: `04 13 05`HELLO "
        "`05`admin `06`secret.",
    "plain_welcome.bin":
        "ROUTER, PLAIN_SERVER=1, ZAP by zmq.auth.thread.ThreadAuthenticator (admin/secret), "
        "after our correct HELLO. WELCOME with no data: `04 08 07`WELCOME.",
    "plain_initiate.bin":
        "DEALER as PLAIN client, after our WELCOME. INITIATE: Socket-Type=DEALER, empty "
        "Identity.",
    "plain_ready.bin":
        "ROUTER as PLAIN server, after our INITIATE. READY: Socket-Type=ROUTER, empty "
        "Identity.",
    "plain_error_wrong_password.bin":
        "ROUTER as PLAIN server, after our HELLO with password \"wrong\". MALFORMED ERROR: "
        "`04 09 5e`RROR`03`400 (see facts).",
    "null_error_zap_denied.bin":
        "DEALER, ZAP_DOMAIN=\"global\", NULL, ZAP denying 127.0.0.1. Well-formed ERROR: "
        "`04 0a 05`ERROR`03`400; sent instead of READY.",
    "error_socket_type.bin":
        "REQ; we read its READY, then send READY with Socket-Type=PUSH. Everything libzmq "
        "sent afterwards: nothing; it closes the connection.",
    "subscribe_zmtp31.bin":
        "SUB, peer greeted as ZMTP 3.1 PUB, subscribe(\"weather\"). SUBSCRIBE command: "
        "`04 11 09`SUBSCRIBE`weather`.",
    "cancel_zmtp31.bin":
        "Same socket, then unsubscribe(\"weather\"). CANCEL command: `04 0e 06`CANCEL`weather`.",
    "subscribe_empty_zmtp31.bin":
        "Same socket, then subscribe(\"\"). SUBSCRIBE command with no topic: `04 0a 09`SUBSCRIBE.",
    "subscribe_zmtp30.bin":
        "SUB, peer greeted as ZMTP 3.0 (minor 0) PUB, subscribe(\"weather\"). Message frame "
        "`00 08 01`weather.",
    "cancel_zmtp30.bin":
        "Same socket, then unsubscribe(\"weather\"). Message frame `00 08 00`weather.",
    "subscribe_empty_zmtp30.bin":
        "Same socket, then subscribe(\"\"). Message frame `00 01 01`.",
    "ping.bin":
        "DEALER, HEARTBEAT_IVL=100, HEARTBEAT_TTL=2000. First PING after the handshake: "
        "`04 07 04`PING, TTL `00 14` (20 deciseconds), empty context.",
    "ping_no_ttl.bin":
        "DEALER, HEARTBEAT_IVL=100, TTL unset. PING with TTL `00 00`, empty context.",
    "pong.bin":
        "DEALER; we send PING TTL 0 with the 20-byte context \"0123456789abcdefghij\". PONG "
        "with only the first 16 bytes: `04 15 04`PONG`0123456789abcdef`.",
    "pong_short.bin":
        "DEALER; we send PING TTL 0 with context \"ctx1\". PONG: `04 09 04`PONG`ctx1`.",
    "message_multipart.bin":
        "DEALER send_multipart([\"\", \"hello\", \"world\"]): `01 00`, `01 05`hello, `00 05`world.",
    "message_255.bin": "DEALER send(b\"x\" * 255). Short frame: `00 ff` + body.",
    "message_256.bin": "DEALER send(b\"x\" * 256). Long frame: `02` + u64 BE 256 + body.",
    "message_empty.bin": "DEALER send(b\"\"): `00 00`.",
    "greeting_to_zmtp20_peer.bin":
        "DEALER, ROUTING_ID=\"client\"; we send a ZMTP 2.0 greeting (signature, revision `01`, "
        "socket type `05`). All libzmq sent in the next ~300 ms: signature, `03`, its socket "
        "type `05`, then routing-id frame `00 06`client in 2.0 framing.",
}

FACTS = [
    "**Greeting in stages.** libzmq sends its 10-byte signature at once, the major version "
    "`03` only after receiving our 10-byte signature, and the remaining 53 bytes only after "
    "receiving our 11th byte (major version >= 3). It never waits for a full 64 bytes, so a "
    "peer that sends its whole greeting at once works; a peer that withholds its own "
    "greeting until it has read libzmq's 64 bytes deadlocks.",
    "**Signature padding is not zero.** libzmq fills the 8 padding bytes with the routing id "
    "length + 1 as a u64 BE (a ZMTP 1.0 compatibility trick): `...07` for routing id "
    "\"client\", `...01` with none. RFC 37 says the padding is not significant; decoders "
    "must ignore it.",
    "**as-server is always 0.** libzmq writes `00` in the as-server byte even for a PLAIN "
    "server (zmtp_engine.cpp zero-fills the last 32 greeting bytes). Do not rely on the "
    "peer's as-server byte to pick PLAIN roles, and do not reject libzmq for it.",
    "**libzmq's PLAIN ERROR command is malformed.** The body is `5e 52 52 4f 52 03 34 30 30`: "
    "libzmq 4.3.5 writes the prefix as the C literal \"\\x05ERROR\" (src/plain_common.hpp), "
    "where the hex escape swallows the `E`, giving the byte `5e` ('^') + \"RROR\" (5 bytes, "
    "frame size 9). Read strictly, that is a command whose name length (94) exceeds the body. "
    "A codec that wants to show libzmq's PLAIN rejection reason must special-case it; "
    "libzmq's own PLAIN client only recognises this malformed form as ERROR. NULL (and CURVE) "
    "use \"\\5ERROR\" and are well-formed (null_error_zap_denied.bin).",
    "**After a PLAIN ERROR libzmq keeps the connection open** until its handshake timer "
    "(HANDSHAKE_IVL, default 30 s) fires; the capture used HANDSHAKE_IVL=1000 and saw the "
    "close about 1 s after connecting. After a NULL ZAP denial it also stays open, but only "
    "until it receives a command from the peer (our READY): then it closes at once, because "
    "its NULL mechanism fails only when it has both sent and received a command. A NULL "
    "socket with a ZAP domain sends nothing after the greeting until ZAP answers; on denial "
    "its ERROR replaces READY.",
    "**Socket-Type mismatch**: libzmq sends no ERROR command; it just closes the TCP "
    "connection (error_socket_type.bin is empty).",
    "**SUB speaks the peer's version.** To a peer greeting with 3.1, libzmq 4.3.5's SUB sends "
    "ZMTP 3.1 SUBSCRIBE/CANCEL commands; to a 3.0 peer it sends message frames "
    "`01`topic / `00`topic. A publisher accepting both 3.0 and 3.1 peers must handle both.",
    "**Identity property**: REQ, DEALER and ROUTER always send `Identity` in READY/INITIATE, "
    "with an empty value when no routing id is set; all other types send only Socket-Type. "
    "Property order is Socket-Type, Identity, then application (ZMQ_METADATA) properties.",
    "**libzmq does not wait for our READY** before sending its own (NULL, no ZAP): every "
    "capture reads libzmq's READY before sending the raw side's.",
    "**Heartbeats**: the PING TTL field is HEARTBEAT_TTL / 100 (deciseconds), 0 when TTL is "
    "unset; the context is empty. PONG echoes at most 16 context bytes, silently truncating a "
    "longer context rather than rejecting the PING.",
    "**Size encoding**: libzmq uses the 1-byte size up to 255 and the 8-byte size from 256.",
    "**ZMTP 2.0 downgrade**: libzmq's 11th byte is `03` even to a 2.0 peer (it is sent before "
    "libzmq knows the peer's revision); it then sends its socket type byte instead of the 3.x "
    "greeting rest, and its routing id as a 2.0 frame (flags `00`, 1-byte size), with no "
    "READY.",
]

# Which of these applies depends on the pyzmq build (ZMQ_METADATA was a draft
# option in older libzmq releases).
METADATA_AVAILABLE = (
    "**ZMQ_METADATA works** in this pyzmq wheel: the property name goes on the wire as "
    "given (\"X-Name\"), after Socket-Type and Identity.")
METADATA_MISSING = (
    "**ZMQ_METADATA is unavailable** in this pyzmq build (setsockopt failed), so "
    "ready_metadata.bin was not captured.")


def hexdump(data, width=32):
    """Indented hex lines, or "(empty)"."""
    if not data:
        return "    (empty)"
    return "\n".join(
        f"    {i:04x}: {data[i:i + width].hex(' ')}" for i in range(0, len(data), width)
    )


def render(files, libzmq_version, pyzmq_version):
    """The README text for the captured `files` ({name: bytes})."""
    rows = "\n".join(
        f"| `{name}` | {len(files[name])} | {DESCRIPTIONS[name]} |"
        for name in DESCRIPTIONS
        if name in files
    )
    metadata = METADATA_AVAILABLE if "ready_metadata.bin" in files else METADATA_MISSING
    facts = "\n".join(f"- {fact}" for fact in FACTS + [metadata])
    return f"""# ZMTP test vectors from libzmq

Byte-exact traffic captured from **libzmq {libzmq_version}** through **pyzmq \
{pyzmq_version}**, over 127.0.0.1 TCP, against a raw Python socket speaking
ZMTP 3.1 (RFC 37; PLAIN from RFC 24) by hand. Each `.bin` holds exactly the
bytes libzmq wrote for the item; where the item is a frame, the file holds the
whole frame (flags byte, 1- or 8-byte size, body).

Generated by `interop-tests/python/capture_vectors.py` (prose from
`vectors_readme.py`); do not edit by hand. The script is deterministic (fixed
routing ids, topics and passwords), asserts the exact bytes of every file and
checks every fact below before writing anything. Regenerate from the
workspace root with:

    cargo test -p purezmq-interop-tests --test pyzmq_available   # creates target/pyzmq-venv
    target/pyzmq-venv/bin/python interop-tests/python/capture_vectors.py

## Facts about libzmq's bytes

{facts}

## Files

| File | Bytes | Socket, options and expected structure |
|---|---|---|
{rows}
"""
