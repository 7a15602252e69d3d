"""Checks ledger proofs with Python's standard library only (docs/verification.md).
Usage: python3 verify_proof.py PROOF.json [PROOF.json ...]"""
import base64, hashlib, json, sys

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def field(b):
    return varint(len(b)) + b

def event_hash(ev, data):
    enc = bytes.fromhex(ev["prev_hash"])
    for f in (ev["event_id"], ev["stream"], str(ev["revision"]), ev["type"], str(ev["schema_version"]),
              ev["occurred_on"], ev["recorded_at"], ev["actor"], ev["command_id"], ev["correlation_id"],
              ev["causation_id"]):
        enc += field(f.encode())
    enc += field(data)
    return hashlib.sha256(enc).digest()

def leaf_hash(h):          # RFC 9162 2.1.1: SHA-256(0x00 || leaf)
    return hashlib.sha256(b"\x00" + h).digest()

def node_hash(l, r):       # RFC 9162 2.1.1: SHA-256(0x01 || left || right)
    return hashlib.sha256(b"\x01" + l + r).digest()

def root_from_inclusion(index, size, leaf, path):   # RFC 9162 2.1.3.2
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("path too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1; sn >>= 1
    if sn != 0:
        raise ValueError("path too short")
    return r

def verify(path):
    text = open(path).read()
    proof = json.loads(text)
    ev = proof["event"]
    # The data exactly as stored: the raw text of the "data" value, not a re-encoding.
    start = text.index('"data":', text.index('"causation_id":')) + len('"data":')
    _, end = json.JSONDecoder().raw_decode(text, start)
    data = text[start:end].encode()
    h = event_hash(ev, data)
    assert h.hex() == ev["hash"], "the event's hash does not match its fields"
    body = proof["checkpoint"].split("\n\n")[0].split("\n")
    origin, size, root = body[0], int(body[1]), base64.b64decode(body[2])
    assert size == proof["tree_size"]
    audit = [base64.b64decode(p) for p in proof["inclusion"]]
    assert root_from_inclusion(proof["leaf_index"], size, leaf_hash(h), audit) == root, "the path does not lead to the root"
    print(f"ok: event {ev['event_id']} is leaf {proof['leaf_index']} of the tree of {size} events of {origin}")

for path in sys.argv[1:]:
    verify(path)
