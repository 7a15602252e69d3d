"""Checks ledger proofs with Python's standard library only (docs/verification.md).
Usage: python3 verify_consistency.py PROOF.json [PROOF.json ...]"""
import base64, hashlib, json, sys

def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()

def check_consistency(first, second, first_root, second_root, path):   # RFC 9162 2.1.4.2
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if first & (first - 1) == 0:            # first is a power of 2
        path = [first_root] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1; sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr); sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1; sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root

def body(note):
    origin, size, root = note.split("\n\n")[0].split("\n")[:3]
    return origin, int(size), base64.b64decode(root)

def verify(path):
    proof = json.load(open(path))
    o_origin, o_size, o_root = body(proof["old_checkpoint"])
    n_origin, n_size, n_root = body(proof["new_checkpoint"])
    assert o_origin == n_origin
    audit = [base64.b64decode(p) for p in proof["consistency"]]
    assert check_consistency(o_size, n_size, o_root, n_root, audit), "not consistent"
    print(f"ok: the tree of {o_size} events is a prefix of the tree of {n_size} events of {n_origin}")

for path in sys.argv[1:]:
    verify(path)
