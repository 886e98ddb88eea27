"""The data/ tables' format, for the scripts that compile them into C.

A table is tab-separated UTF-8: blank lines and lines starting with '#' are
skipped, the first other line is the header (which must name exactly the
expected columns), and every row has as many fields. Errors name the file
and line, so a bad row is easy to fix.
"""
import sys


def fail(path, lineno, msg):
    sys.exit(f'{path}:{lineno}: {msg}')


def c_str(text):
    """A C string literal; '-' stands for the empty string."""
    if text == '-':
        text = ''
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


def read_rows(path, cols, check=None):
    """The rows as dicts; check(lineno, row) may fail() on a bad one."""
    rows = []
    header_seen = False
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            fields = line.split('\t')
            if not header_seen:
                if fields != cols:
                    fail(path, lineno, f'header must be {cols}')
                header_seen = True
                continue
            if len(fields) != len(cols):
                fail(path, lineno,
                     f'{len(fields)} columns, expected {len(cols)}')
            row = dict(zip(cols, fields))
            if check:
                check(lineno, row)
            rows.append(row)
    return rows
