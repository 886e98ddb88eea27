#!/usr/bin/env python3
"""The Reference section of docs/cohete-yaml.md, from cohete.yaml's schema.

Reads the JSON Schema that `cohete config schema` prints (stdin, or the file
named as the argument) and prints, as markdown, everything from the line
"## Reference" to the end of the document: one "### `key`" per top-level key
with its description, then a table of that key and every key under it.
Nested keys are dotted paths; `[]` stands for the items of a list and `NAME`
for the keys of a map whose values share one schema (thermal policies).

Regenerate the document's section with:
  cohete config schema | python3 scripts/config-reference.py > /tmp/ref.md
and put /tmp/ref.md in place of the section (tests/config-schema.sh checks
that they are the same and prints the one-line command that does it).
"""
import json
import sys

HEADER = """## Reference

Generated from `cohete config schema`, the table the loader types with.
`NAME` is a policy name.
"""

# An enum longer than this does not fit a table cell: it is named by the
# first word of its description ("level to run it at ..." -> "level name")
# and the description gives examples.
MAX_ENUM_SHOWN = 8

PLURAL = {'string': 'strings', 'object': 'maps', 'integer': 'whole numbers',
          'number': 'numbers', 'boolean': 'booleans', 'array': 'lists'}


def cell(text):
    """Table cells cannot hold a bare '|'."""
    return text.replace('|', '\\|')


def alternatives(node):
    return node.get('oneOf') or node.get('anyOf')


def base_type(node):
    """The JSON type a list's items have (the first alternative's)."""
    alts = alternatives(node)
    if alts:
        return base_type(alts[0])
    t = node.get('type', 'string')
    return t[0] if isinstance(t, list) else t


def bounds(node):
    lo, hi = node.get('minimum'), node.get('maximum')
    if lo is not None and hi is not None:
        return f' {lo}..{hi}'
    if lo is not None:
        return f' >= {lo}'
    if hi is not None:
        return f' <= {hi}'
    return ''


def type_name(node):
    """How the table spells a value's type."""
    alts = alternatives(node)
    if alts:
        return ' or '.join(type_name(a) for a in alts)
    t = node.get('type')
    if isinstance(t, list):
        return ' or '.join(t)
    if t == 'string' and 'enum' in node:
        if len(node['enum']) > MAX_ENUM_SHOWN:
            return node.get('description', 'value').split()[0] + ' name'
        return ' | '.join(f'`{v}`' for v in node['enum'])
    if t == 'integer':
        return 'whole number' + bounds(node)
    if t == 'number':
        return 'number' + bounds(node)
    if t == 'object':
        return 'map'
    if t == 'array':
        return 'list of ' + PLURAL.get(base_type(node.get('items', {})), 'values')
    return t or 'value'


def default_cell(node, required):
    if required:
        return '**required**'
    if 'default' not in node:
        return ''
    d = node['default']
    if isinstance(d, str):
        return f'`{d}`'
    return f'`{json.dumps(d)}`'


def rows(path, node, required=False):
    """The row of the key at path and those of every key under it."""
    yield '| ' + ' | '.join([f'`{path}`', cell(type_name(node)),
                             default_cell(node, required),
                             cell(node.get('description', ''))]) + ' |'
    # The keys of a map, of each item of a list, of each value of a map.
    for suffix, sub in (('', node),
                        ('[]', node.get('items')),
                        ('.NAME', node.get('additionalProperties'))):
        if not isinstance(sub, dict):
            continue
        need = set(sub.get('required', []))
        for key, child in sub.get('properties', {}).items():
            yield from rows(f'{path}{suffix}.{key}', child, key in need)


def reference(schema):
    out = [HEADER]
    need = set(schema.get('required', []))
    for key, node in schema.get('properties', {}).items():
        out.append(f'### `{key}`\n')
        out.append(node.get('description', '') + '\n')
        table = ['| key | type | default | meaning |', '|---|---|---|---|']
        table += rows(key, node, key in need)
        out.append('\n'.join(table) + '\n')
    return '\n'.join(out) + '\n'


def main(argv):
    if len(argv) > 2:
        sys.exit('usage: config-reference.py [SCHEMA.json]  (default: stdin)')
    try:
        if len(argv) == 2:
            with open(argv[1], encoding='utf-8') as f:
                schema = json.load(f)
        else:
            schema = json.load(sys.stdin)
    except (OSError, ValueError) as e:
        sys.exit(f'config-reference.py: {e}')
    sys.stdout.write(reference(schema))


if __name__ == '__main__':
    main(sys.argv)
