#!/usr/bin/env python3
"""Refuse an include of a module a module did not declare it may use.

    check-includes.py SRCROOT [--stamp FILE] LIB/MODULE=USES ...

Each LIB/MODULE=USES comes from the module's own meson.build (the
top-level build passes them all): USES is a comma-separated list of
modules, "core" for one of the same library, "pepita/core" for one of
another. Every .c and .h under SRCROOT/src/LIB/MODULE/ and the module's
public header SRCROOT/include/LIB/MODULE.h are read, and each include
that names a module is checked:

    #include <pepita/sched.h>       the public header of pepita's sched
    #include "core/core_priv.h"     a private header of a module's folder

A module may include its own headers, those of the modules it declares,
system headers, and its library's shared internal.h. The declared graph
must have no cycle. Errors name the file, the line and the include; the
exit status is 1 when there is any, and with --stamp the file is written
only when there is none (meson runs this as a build step).
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SHARED = {'internal.h'}


def parse_decls(args):
    decls = {}
    for a in args:
        name, sep, uses = a.partition('=')
        lib, slash, mod = name.partition('/')
        if not sep or not slash or not lib or not mod:
            raise SystemExit(f'check-includes: bad declaration {a!r} '
                             '(want LIB/MODULE=USES)')
        full = set()
        for u in filter(None, uses.split(',')):
            full.add(u if '/' in u else f'{lib}/{u}')
        decls[f'{lib}/{mod}'] = full
    return decls


def find_cycle(decls):
    state = {}

    def visit(m, path):
        state[m] = 1
        for u in sorted(decls.get(m, ())):
            if state.get(u) == 1:
                return path + [m, u]
            if u in decls and not state.get(u):
                c = visit(u, path + [m])
                if c:
                    return c
        state[m] = 2
        return None

    for m in sorted(decls):
        if not state.get(m):
            c = visit(m, [])
            if c:
                return c[c.index(c[-1]):]
    return None


def module_of(lib, mod, kind, path, decls):
    """The module an include names, or None for one no module owns."""
    if kind == '<':
        top, _, rest = path.partition('/')
        if top in ('pepita', 'cohete') and rest.endswith('.h'):
            return f'{top}/{rest[:-2]}'
        return None
    if path in SHARED or '/' not in path:
        return None
    top = path.split('/')[0]
    if f'{lib}/{top}' in decls:
        return f'{lib}/{top}'
    return None


def check_file(root, lib, mod, path, decls, errors):
    me = f'{lib}/{mod}'
    allowed = decls[me] | {me}
    with open(path, encoding='utf-8', errors='replace') as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = module_of(lib, mod, m.group(1), m.group(2), decls)
            if target is None or target in allowed:
                continue
            tlib, tmod = target.split('/')
            if tmod == tlib:
                why = 'an umbrella header (include the module headers)'
            elif target not in decls:
                why = f'{target} is no module'
            else:
                why = f'{me} does not declare {target} among the modules it uses'
            rel = os.path.relpath(path, root)
            inc = m.group(1) + m.group(2) + ('>' if m.group(1) == '<' else '"')
            errors.append(f'{rel}:{lineno}: #include {inc}: {why}')


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    root, args, stamp = argv[1], argv[2:], None
    if args[:1] == ['--stamp']:
        stamp, args = args[1], args[2:]
    decls = parse_decls(args)
    errors = []
    for me, uses in sorted(decls.items()):
        for u in sorted(uses):
            if u not in decls:
                errors.append(f'src/{me}/meson.build: uses {u}, which is no module')
    cycle = find_cycle(decls)
    if cycle:
        errors.append('modules use each other in a cycle: ' + ' -> '.join(cycle))
    for me in sorted(decls):
        lib, mod = me.split('/')
        folder = os.path.join(root, 'src', lib, mod)
        if not os.path.isdir(folder):
            errors.append(f'src/{me}/: declared, but there is no such folder')
            continue
        files = [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                 if n.endswith(('.c', '.h'))]
        header = os.path.join(root, 'include', lib, mod + '.h')
        if os.path.exists(header):
            files.append(header)
        for path in files:
            check_file(root, lib, mod, path, decls, errors)
    for e in errors:
        print(f'check-includes: {e}', file=sys.stderr)
    if errors:
        return 1
    if stamp:
        with open(stamp, 'w') as f:
            f.write('ok\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
