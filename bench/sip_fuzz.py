"""Long fuzz run of the SIP parser: N mutated messages, count anything but SipParseError.

    .venv/bin/python bench/sip_fuzz.py [--count 1000000] [--seed 1]

Prints one JSON line: messages, parsed, rejected, unexpected (must be 0), seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "sip"))

from dialer.sip.message import SipParseError, parse_message  # noqa: E402
from sip_fuzzing import mutate  # noqa: E402
from sip_samples import COMPACT_FOLDED, INVITE, RESPONSE_200  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    seeds = [INVITE, RESPONSE_200, COMPACT_FOLDED]
    parsed = rejected = unexpected = 0
    start = time.perf_counter()
    for i in range(args.count):
        data = mutate(rng.choice(seeds), rng)
        try:
            msg = parse_message(data)
            for part in ("from_addr", "to_addr", "top_via"):
                try:
                    getattr(msg, part)
                except SipParseError:
                    pass
            parse_message(msg.to_bytes())  # what we parse, we can write and read back
            parsed += 1
        except SipParseError:
            rejected += 1
        except Exception:
            unexpected += 1
            if unexpected <= 5:
                print(f"unexpected exception on message {i}: {data!r}", file=sys.stderr)
                traceback.print_exc()
    seconds = time.perf_counter() - start
    print(json.dumps({"messages": args.count, "parsed": parsed, "rejected": rejected,
                      "unexpected": unexpected, "seconds": round(seconds, 1),
                      "messages_per_second": round(args.count / seconds)}))
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
