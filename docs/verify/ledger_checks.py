"""What both checkers of docs/verify share, with Python's standard library only (docs/verification.md):
a strict reading of a proof's JSON, the event hash, the RFC 9162 Merkle hashes, and the check of a checkpoint's
Ed25519 signature (RFC 8032), written out here because the standard library has no Ed25519.

Every check raises CheckFailed; none uses assert, so `python3 -O` checks exactly as much."""
import base64, hashlib, json, re

class CheckFailed(Exception):
    pass

def fail(msg):
    raise CheckFailed(msg)

# ---- strict JSON: parse once, each member once, nothing unknown, and the exact text of each value ----

_WS = re.compile(r"[ \t\n\r]*")

def _no_duplicates(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            fail(f"member {k!r} appears twice in one object")
        seen.add(k)
    return dict(pairs)

def _refuse_constant(name):
    fail(f"{name} is not JSON")

_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)

def read_object(text, i, known):
    """Reads the object starting at text[i] (after white space): returns ({name: (value, start, end)}, end),
    the span being the value's exact text. Refuses a member named twice, a member not in known, a name that
    differs from a known one only in case, and (through the decoder) duplicates at any depth."""
    i = _WS.match(text, i).end()
    if text[i:i + 1] != "{":
        fail("expected a JSON object")
    i = _WS.match(text, i + 1).end()
    members = {}
    if text[i:i + 1] == "}":
        return members, i + 1
    while True:
        if text[i:i + 1] != '"':
            fail("expected a member name")
        name, i = json.decoder.scanstring(text, i + 1, True)
        if name not in known:
            fail(f"unknown member {name!r}")
        if name in members:
            fail(f"member {name!r} appears twice")
        i = _WS.match(text, i).end()
        if text[i:i + 1] != ":":
            fail("expected ':'")
        start = _WS.match(text, i + 1).end()
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError as e:
            fail(f"member {name!r}: {e}")
        members[name] = (value, start, end)
        i = _WS.match(text, end).end()
        if text[i:i + 1] == ",":
            i = _WS.match(text, i + 1).end()
            continue
        if text[i:i + 1] == "}":
            return members, i + 1
        fail("expected ',' or '}'")

def read_document(raw, known):
    """The whole file: one object, then only white space."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        fail("the proof is not UTF-8")
    members, end = read_object(text, 0, known)
    if _WS.match(text, end).end() != len(text):
        fail("text after the proof's object")
    missing = set(known) - set(members)
    if missing:
        fail(f"missing members: {', '.join(sorted(missing))}")
    return text, members

def want(members, name, kind):
    value = members[name][0]
    if kind is int and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        fail(f"{name} is not a non-negative integer")
    if kind is str and not isinstance(value, str):
        fail(f"{name} is not a string")
    if kind is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        fail(f"{name} is not a list of strings")
    return value

def b64_hash(s, what):
    try:
        b = base64.b64decode(s, validate=True)
    except ValueError:
        fail(f"{what} is not standard base64")
    if len(b) != 32 or base64.b64encode(b).decode() != s:
        fail(f"{what} is not 32 bytes in standard base64")
    return b

# ---- hashes ----

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

def leaf_hash(h):          # RFC 9162 2.1.1: SHA-256(0x00 || leaf)
    return hashlib.sha256(b"\x00" + h).digest()

def node_hash(l, r):       # RFC 9162 2.1.1: SHA-256(0x01 || left || right)
    return hashlib.sha256(b"\x01" + l + r).digest()

# ---- Ed25519 verification (RFC 8032 5.1.7), cofactorless as Go's crypto/ed25519 ----

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A = (y1 - x1) * (y2 - x2) % _P
    B = (y1 + x1) * (y2 + x2) % _P
    C = 2 * t1 * t2 * _D % _P
    D = 2 * z1 * z2 % _P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F % _P, G * H % _P, F * G % _P, E * H % _P)

def _mul(k, pt):
    q = (0, 1, 1, 0)
    while k:
        if k & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        k >>= 1
    return q

def _decode_point(s):
    if len(s) != 32:
        fail("an Ed25519 point is 32 bytes")
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        fail("not a valid Ed25519 point")
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        fail("not a valid Ed25519 point")
    if x == 0 and sign:
        fail("not a valid Ed25519 point")
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)

def _encode_point(pt):
    x, y, z, _ = pt
    zi = pow(z, _P - 2, _P)
    x, y = x * zi % _P, y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")

_BASE = _decode_point((4 * pow(5, _P - 2, _P) % _P).to_bytes(32, "little"))

def ed25519_verify(public, msg, sig):
    if len(sig) != 64:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False
    a = _decode_point(public)
    h = int.from_bytes(hashlib.sha512(sig[:32] + public + msg).digest(), "little") % _L
    return _encode_point(_add(_mul(s, _BASE), _mul(_L - h, a))) == sig[:32]

# ---- signed notes and checkpoints (golang.org/x/mod/sumdb/note, C2SP tlog-checkpoint) ----

def read_verifier_key(line):
    """name+hash+key: the key hash is the first 4 bytes of SHA-256(name || '\\n' || 0x01 || public key)."""
    parts = line.strip().split("+", 2)
    if len(parts) != 3 or not parts[0] or len(parts[1]) != 8:
        fail("the verifier key is not name+hash+key")
    name, keyhash, key = parts
    try:
        key = base64.b64decode(key, validate=True)
    except ValueError:
        fail("the verifier key's key is not base64")
    if len(key) != 33 or key[0] != 1:
        fail("the verifier key is not an Ed25519 key")
    if hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() != keyhash:
        fail("the verifier key's hash does not match its name and key")
    return name, bytes.fromhex(keyhash), key[1:]

def open_checkpoint(note, verifier):
    """Checks the note's signature by the verifier key and reads its body: (origin, size, root)."""
    name, keyhash, public = verifier
    text, sep, sigs = note.partition("\n\n")
    if not sep or not sigs.endswith("\n"):
        fail("the checkpoint is not a signed note")
    text += "\n"
    verified = False
    for line in sigs[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014":
            fail("a signature line of the checkpoint is malformed")
        if parts[1] != name:
            continue
        try:
            sig = base64.b64decode(parts[2], validate=True)
        except ValueError:
            fail("a signature of the checkpoint is not base64")
        if len(sig) != 68 or sig[:4] != keyhash:
            continue
        if not ed25519_verify(public, text.encode(), sig[4:]):
            fail(f"the checkpoint's signature by {name} does not verify")
        verified = True
    if not verified:
        fail(f"the checkpoint is not signed by {name}")
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        fail("the checkpoint's body is not an origin, a size and a root hash, one per line")
    origin, size, root = lines[:3]
    if not origin or not size.isdigit() or str(int(size)) != size:
        fail("the checkpoint's origin or size is malformed")
    return origin, int(size), b64_hash(root, "the checkpoint's root hash")

# ---- the scripts' command line ----

def main(argv, verify, doc):
    """verify_proof.py and verify_consistency.py: --verifier-key FILE PROOF..., exit 0 when every proof verifies,
    1 at the first that does not (saying why), 2 on bad usage."""
    import sys
    if len(argv) < 3 or argv[0] != "--verifier-key":
        print(doc, file=sys.stderr)
        return 2
    try:
        verifier = read_verifier_key(open(argv[1]).read())
        for path in argv[2:]:
            try:
                verify(path, verifier)
            except CheckFailed as e:
                raise CheckFailed(f"{path}: {e}")
    except CheckFailed as e:
        print(f"INVALID: {e}", file=sys.stderr)
        return 1
    return 0
