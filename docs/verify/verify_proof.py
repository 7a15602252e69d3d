"""Checks ledger inclusion proofs with Python's standard library only (docs/verification.md).
Usage: python3 verify_proof.py --verifier-key verifier.pub PROOF.json [PROOF.json ...]

Reads each proof once, strictly (a member named twice at any depth, an unknown member, a name in another case: refused),
hashes the event's data exactly as the text it read, checks the checkpoint's Ed25519 signature with the verifier key,
then the audit path from the event to the signed root (RFC 9162 2.1.3.2), and prints what it vouches for.
Exit 0 when every proof verifies, 1 at the first that does not."""
import sys
from ledger_checks import (main, CheckFailed, fail, field, leaf_hash, node_hash, b64_hash, read_document, read_object,
                           want, read_verifier_key, open_checkpoint)
import hashlib, json

PROOF = ("event", "leaf_index", "tree_size", "inclusion", "checkpoint")
EVENT = ("event_id", "stream", "revision", "position", "type", "schema_version", "occurred_on", "recorded_at", "actor",
         "command_id", "correlation_id", "causation_id", "data", "prev_hash", "hash")

def root_from_inclusion(index, size, leaf, path):   # RFC 9162 2.1.3.2
    if index >= size:
        fail("leaf_index is outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            fail("the audit path is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1; sn >>= 1
    if sn != 0:
        fail("the audit path is too short")
    return r

def hex_hash(s, what):
    if len(s) != 64 or any(c not in "0123456789abcdef" for c in s):
        fail(f"{what} is not 64 lower-case hex digits")
    return bytes.fromhex(s)

def verify(path, verifier):
    text, proof = read_document(open(path, "rb").read(), PROOF)
    _, start, _ = proof["event"]
    ev, _ = read_object(text, start, EVENT)
    fields = [want(ev, k, str) for k in ("event_id", "stream")] + [str(want(ev, "revision", int)), want(ev, "type", str),
              str(want(ev, "schema_version", int))] + [want(ev, k, str) for k in ("occurred_on", "recorded_at", "actor",
              "command_id", "correlation_id", "causation_id")]
    want(ev, "position", int)
    data, dstart, dend = ev["data"]
    if not isinstance(data, dict):
        fail("the event's data is not an object")
    prev = hex_hash(want(ev, "prev_hash", str), "prev_hash")
    # The hash covers the data exactly as the text read above holds it: the very value that was parsed.
    enc = prev + b"".join(field(f.encode()) for f in fields) + field(text[dstart:dend].encode())
    h = hashlib.sha256(enc).digest()
    if h != hex_hash(want(ev, "hash", str), "hash"):
        fail("the event's hash does not match its fields")
    origin, size, root = open_checkpoint(want(proof, "checkpoint", str), verifier)
    if size != want(proof, "tree_size", int):
        fail("tree_size is not the checkpoint's size")
    audit = [b64_hash(p, "a hash of the audit path") for p in want(proof, "inclusion", list)]
    if root_from_inclusion(want(proof, "leaf_index", int), size, leaf_hash(h), audit) != root:
        fail("the audit path does not lead from the event to the signed root")
    print(f"ok: event {fields[0]} is leaf {proof['leaf_index'][0]} of the tree of {size} events of {origin}, signed by {verifier[0]}")
    print("checked: the event's hash from its fields, the checkpoint's signature, the audit path to its root")
    for label, value in (("stream", fields[1]), ("revision", fields[2]), ("type", fields[3]), ("business date", fields[5]),
                         ("recorded at", fields[6]), ("actor", fields[7]), ("amount", data.get("amount"))):
        if value not in (None, ""):
            print(f"  {label}: {value}")
    print(f"  data: {text[dstart:dend]}")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], verify, __doc__))
