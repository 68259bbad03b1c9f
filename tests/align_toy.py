"""Writes src/align.c with the toy alignment loss of tests/align_toy.c added, as docs/HACKING.md
says a loss is added: its functions before the table of methods, its row at the table's end.
Nothing else changes: the configuration's words (tls_align_name) come from the table.

    align_toy.py SRC_ALIGN_C TOY_C OUT_C

Exits 1 naming what it cannot find when align.c no longer has the shape HACKING.md describes."""
import sys


def splice(align, toy):
    functions, row = toy.split("/* the row */\n")
    lines = align.split("\n")

    def find(pred, what, start=0):
        for i in range(start, len(lines)):
            if pred(lines[i]):
                return i
        sys.exit(f"align_toy.py: src/align.c has no {what}; update tests/align_toy.py and docs/HACKING.md")

    table = find(lambda s: s.startswith("const tls_align_method tls_align_methods[] = {"), "table of methods")
    end = find(lambda s: s == "};", "end of the table of methods", table)
    lines.insert(end, "    " + row.strip())
    lines.insert(table, functions.rstrip("\n") + "\n")
    return "\n".join(lines)


if __name__ == "__main__":
    src, toy, out = sys.argv[1:4]
    with open(src) as f, open(toy) as g:
        text = splice(f.read(), g.read())
    with open(out, "w") as f:
        f.write(text)
