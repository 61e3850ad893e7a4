"""Tokenizer parity: an exported tokenizer.json, used through textrnn's documented Python
snippet, must give exactly the padded id rows textrnn feeds its model.

Usage: tokenizer_parity.py SNIPPET.py TOKENIZER.json CASES.jsonl

SNIPPET.py is the README snippet (textrnn_text::PYTHON_SNIPPET), defining
`textrnn_encoder(path)`; CASES.jsonl holds one {"text": raw text, "ids": textrnn's row} per
line. Prints one JSON line: {"total": N, "matching": M, "mismatched": [line indices]}.
Driven by tests/tokenizer_parity.rs.
"""

import json
import sys


def main() -> None:
    snippet, tokenizer, cases = sys.argv[1:4]
    scope: dict = {}
    with open(snippet, encoding="utf-8") as f:
        exec(f.read(), scope)
    encode = scope["textrnn_encoder"](tokenizer)
    total = 0
    mismatched = []
    with open(cases, encoding="utf-8") as f:
        for i, line in enumerate(f):
            case = json.loads(line)
            total += 1
            if encode(case["text"]) != case["ids"]:
                mismatched.append(i)
    print(json.dumps({"total": total, "matching": total - len(mismatched), "mismatched": mismatched}))


if __name__ == "__main__":
    main()
