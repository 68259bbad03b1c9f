"""docs/HACKING.md is true: every file it names exists, and every table it sends an extension to
is defined in the file it names (so that moving a table without updating the page fails here)."""
import os
import re

from tlstest import ROOT

TEXT = open(os.path.join(ROOT, "docs", "HACKING.md")).read()

# table (or declaration) -> the file HACKING.md says holds it, and how it is declared there
TABLES = {
    "tls_fields": ("src/result.c", r"const tls_field tls_fields\[\]"),
    "tls_scalars": ("include/tlsweep/result.h", r"\} tls_scalars;"),
    "TLS_RESULT_LAYOUT": ("include/tlsweep/result.h", r"TLS_RESULT_LAYOUT = \d+"),
    "tls_align_methods": ("src/align.c", r"tls_align_methods\[\]"),
    "tls_keys": ("src/keys.c", r"const tls_key tls_keys\[\]"),
    "tls_key_types": ("src/keys.c", r"tls_key_types\[TLS_K_NTYPES\]"),
    "tls_ts_table": ("src/transfer.c", r"tls_ts_table\[TLS_TS_NSCORES\]"),
    "tls_cell_fields": ("src/cells.c", r"const tls_cell_field tls_cell_fields\[\]"),
    "tls_cells_rule": ("src/cells.c", r"void tls_cells_rule\("),
    "tls_decide_rule": ("src/decide.c", r"tls_decide_rule"),
    "tls_plan": ("include/tlsweep/sched.h", r"\} tls_plan;"),
    "PAGE": ("analysis/report/contents.py", r"^PAGE\s*="),
    "COMMANDS": ("src/main.c", r"COMMANDS\[\]"),
    "tls_engine_params": ("include/tlsweep/params.h", r"\} tls_engine_params;"),
}


def test_every_file_named_exists():
    names = set(re.findall(r"`((?:src|include|tests|analysis|configs|docs)/[\w./-]+)`", TEXT))
    assert len(names) > 30
    missing = sorted(n for n in names if not os.path.exists(os.path.join(ROOT, n)))
    assert not missing, missing


def test_every_table_is_where_the_page_says():
    for table, (path, pattern) in TABLES.items():
        assert f"`{table}`" in TEXT, f"HACKING.md no longer names {table}: update this test"
        assert f"`{path}`" in TEXT, f"HACKING.md no longer names {path}"
        src = open(os.path.join(ROOT, path)).read()
        assert re.search(pattern, src, re.M), f"{table} is not declared in {path} as HACKING.md says"


def test_the_commands_table_drives_the_dispatch():
    """'the dispatch, the help and the did-you-mean list come from the rows': no command name is
    written out as a list outside the table."""
    src = open(os.path.join(ROOT, "src", "main.c")).read()
    assert "one run config status snapshot merge" not in src
    assert not re.search(r'strcmp\(name, "(one|run|config|status|snapshot|merge)"\)', src)
