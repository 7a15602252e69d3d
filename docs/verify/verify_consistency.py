"""Checks ledger consistency proofs with Python's standard library only (docs/verification.md).
Usage: python3 verify_consistency.py --verifier-key verifier.pub PROOF.json [PROOF.json ...]

Reads each proof once, strictly, checks both checkpoints' Ed25519 signatures with the verifier key, then that the
older tree is a prefix of the newer one (RFC 9162 2.1.4.2). Exit 0 when every proof verifies, 1 at the first that
does not."""
import sys
from ledger_checks import (main, CheckFailed, fail, node_hash, b64_hash, read_document, want, read_verifier_key,
                           open_checkpoint)

PROOF = ("old_size", "new_size", "consistency", "old_checkpoint", "new_checkpoint")

def check_consistency(first, second, first_root, second_root, path):   # RFC 9162 2.1.4.2
    if first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if not path:
        return False
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

def verify(path, verifier):
    _, proof = read_document(open(path, "rb").read(), PROOF)
    o_origin, o_size, o_root = open_checkpoint(want(proof, "old_checkpoint", str), verifier)
    n_origin, n_size, n_root = open_checkpoint(want(proof, "new_checkpoint", str), verifier)
    if o_origin != n_origin:
        fail("the checkpoints are of two logs")
    if o_size != want(proof, "old_size", int) or n_size != want(proof, "new_size", int):
        fail("old_size and new_size are not the checkpoints' sizes")
    audit = [b64_hash(p, "a hash of the consistency path") for p in want(proof, "consistency", list)]
    if not check_consistency(o_size, n_size, o_root, n_root, audit):
        fail("the older tree is not a prefix of the newer one")
    print(f"ok: the tree of {o_size} events is a prefix of the tree of {n_size} events of {n_origin}, both signed by {verifier[0]}")
    print("checked: both checkpoints' signatures, the consistency path between their roots")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], verify, __doc__))
