"""Mutations of SIP messages, shared by the fuzz test in the suite and bench/sip_fuzz.py."""

import random

TOKENS = [b"\r\n", b"\n", b" ", b"\t", b":", b";", b",", b"<", b">", b'"', b"\\", b"@", b"=",
          b"sip:", b"SIP/2.0", b"tag=", b"branch=", b"Content-Length: 99999", b"l: 0",
          b"\xff", b"\x00", b"\xd9\xa1", b"\r\n\r\n", b"v: SIP/2.0/UDP", b"[", b"]", b"99999999999"]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:                      # flip a byte
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:                            # delete a run
            del buf[pos:pos + rng.randint(1, 20)]
        elif op == 2:                            # insert a token
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 3:                            # duplicate a run
            end = min(len(buf), pos + rng.randint(1, 40))
            buf[pos:pos] = buf[pos:end]
        elif op == 4:                            # truncate
            del buf[pos:]
        else:                                    # swap two lines
            lines = bytes(buf).split(b"\n")
            if len(lines) > 2:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
                buf = bytearray(b"\n".join(lines))
    return bytes(buf)
