#!/bin/bash
# cohete.yaml through the CLI and an independent validator:
# - `cohete config schema` is a valid JSON Schema (draft 2020-12 metaschema);
# - every valid fixture (tests/fixtures/config/*.yaml, valid/*.yaml) passes
#   `cohete config check` and validates against the schema with
#   python3-jsonschema, and so does what `cohete config show` prints of it;
#   show -> check -> show prints the same;
# - every broken fixture fails `cohete config check` (exit 1) with exactly
#   the lines of its .expected file on stderr, and those marked
#   "# jsonschema: reject" (invalid by the schema, not only by the checks
#   across fields) are rejected by the validator too;
# - `cohete config init` writes a file that passes check, with and without
#   an inventory, and never overwrites one without --force.
# - docs/cohete-yaml.md: its Reference section is what
#   scripts/config-reference.py makes of the schema, and its example passes
#   check (with an inventory under a temporary $HOME for its include).
#
# Environment (tests/meson.build): COHETE_BIN, COHETE_FIXTURES, COHETE_RUN.
# Exit: 0 pass, 1 fail, 77 skip (no python3 jsonschema/yaml), 99 not set up.
set -u

if [ -z "${COHETE_BIN:-}" ] || [ ! -x "$COHETE_BIN" ]; then
	echo "config-schema.sh: COHETE_BIN not set or not executable" >&2
	exit 99
fi
if ! python3 -c 'import jsonschema, yaml' 2>/dev/null; then
	echo "SKIP: python3 jsonschema and yaml modules needed (python3-jsonschema)"
	exit 77
fi
fixtures=${COHETE_FIXTURES:-$(cd "$(dirname "$0")" && pwd)/fixtures}/config
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

c() {
	# shellcheck disable=SC2086  # COHETE_RUN is a word list
	${COHETE_RUN:-} "$COHETE_BIN" "$@"
}

# validate SCHEMA FILE [json]: 0 valid, 1 invalid (reason on stdout).
validate() {
	python3 - "$1" "$2" "${3:-yaml}" <<'EOF'
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
doc = json.loads(text)["config"] if sys.argv[3] == "json" else yaml.safe_load(text)
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
for e in errors[:3]:
    print("  %s: %s" % ("/".join(map(str, e.absolute_path)), e.message))
sys.exit(1 if errors else 0)
EOF
}

schema=$tmp/schema.json
if ! c config schema >"$schema"; then
	fail "cohete config schema"
	exit 1
fi
python3 -c 'import json, sys, jsonschema
jsonschema.Draft202012Validator.check_schema(json.load(open(sys.argv[1])))' "$schema" ||
	fail "the schema is not a valid draft 2020-12 schema"

for f in "$fixtures"/*.yaml "$fixtures"/valid/*.yaml; do
	name=${f#"$fixtures"/}
	c config check "$f" >/dev/null 2>"$tmp/err" || fail "check $name: $(cat "$tmp/err")"
	validate "$schema" "$f" || fail "$name does not validate against the schema"
	# show's YAML sits beside the original, so relative sources mean the same.
	shown=$(dirname "$f")/.shown-$$.yaml
	c config show "$f" >"$shown" 2>/dev/null || fail "show $name"
	validate "$schema" "$shown" || fail "show $name does not validate"
	c config show "$shown" >"$tmp/again" 2>/dev/null || fail "show of show $name"
	cmp -s "$shown" "$tmp/again" || fail "show -> check -> show of $name differs"
	rm -f "$shown"
	c config show --json "$f" >"$tmp/show.json" 2>/dev/null || fail "show --json $name"
	validate "$schema" "$tmp/show.json" json || fail "show --json $name does not validate"
done

cd "$fixtures/broken" || exit 99
n=0
for f in *.yaml; do
	n=$((n + 1))
	rc=0
	c config check "$f" >/dev/null 2>"$tmp/err" || rc=$?
	[ "$rc" = 1 ] || fail "check $f: exit $rc, not 1"
	diff -u "${f%.yaml}.expected" "$tmp/err" || fail "check $f: not the expected messages"
	if grep -q '^# jsonschema: reject' "$f" && validate "$schema" "$f" >/dev/null; then
		fail "$f is accepted by the JSON Schema"
	fi
done
[ "$n" -ge 10 ] || fail "only $n broken files"

# init: alone, with an inventory, and never over a file without --force.
cd "$tmp" || exit 99
mkdir -p xdg/cohete
XDG_CONFIG_HOME=$tmp/xdg c config init -o alone.yaml 2>/dev/null || fail "init"
c config check alone.yaml >/dev/null 2>&1 || fail "init's file does not pass check"
printf 'fleet:\n  devices:\n    - {id: orin-a, connection: usb, serial: "1423", module: p3767-0005}\n' \
	>xdg/cohete/inventory.yaml
XDG_CONFIG_HOME=$tmp/xdg c config init -o inv.yaml 2>/dev/null || fail "init with inventory"
grep -q "^#   orin-a " inv.yaml || fail "init does not list the inventory's devices"
c config show inv.yaml 2>/dev/null | grep -q 'serial: "1423"' ||
	fail "init's file does not include the inventory"
rc=0
XDG_CONFIG_HOME=$tmp/xdg c config init -o inv.yaml 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "init over an existing file: exit $rc, not 1"
XDG_CONFIG_HOME=$tmp/xdg c config init --force -o inv.yaml 2>/dev/null || fail "init --force"

# docs/cohete-yaml.md: the Reference section (to the end of the file) is
# generated from the schema, and the example (its first yaml block) is valid.
root=$(cd "$fixtures/../../.." && pwd)
doc=$root/docs/cohete-yaml.md
sed -n '/^## Reference$/,$p' "$doc" >"$tmp/ref-doc.md"
if ! python3 "$root/scripts/config-reference.py" "$schema" >"$tmp/ref-gen.md"; then
	fail "scripts/config-reference.py"
elif ! diff -u "$tmp/ref-doc.md" "$tmp/ref-gen.md"; then
	fail "docs/cohete-yaml.md's Reference section is not the schema's; regenerate it" \
		"in the source root with: (sed '/^## Reference\$/,\$d' docs/cohete-yaml.md;" \
		"$COHETE_BIN config schema | python3 scripts/config-reference.py)" \
		">doc.new && mv doc.new docs/cohete-yaml.md"
fi
awk '/^```yaml$/ { f = 1; next } f && /^```$/ { exit } f' "$doc" >"$tmp/example.yaml"
[ -s "$tmp/example.yaml" ] || fail "no yaml example in docs/cohete-yaml.md"
mkdir -p "$tmp/home/.config/cohete"
printf 'fleet:\n  devices:\n    - {id: bench-03, connection: ssh, host: 10.0.0.3}\n' \
	>"$tmp/home/.config/cohete/inventory.yaml"
if ! (unset JETSON_02_HOST; HOME=$tmp/home c config check "$tmp/example.yaml") \
	>/dev/null 2>"$tmp/err"; then
	fail "the example does not pass check: $(cat "$tmp/err")"
elif [ -s "$tmp/err" ]; then
	fail "the example has diagnostics: $(cat "$tmp/err")"
fi
(unset JETSON_02_HOST; HOME=$tmp/home c config show "$tmp/example.yaml") 2>/dev/null |
	grep -q 'id: bench-03' || fail "the example does not include ~/.config/cohete/inventory.yaml"

echo "config-schema: $failures failures"
[ "$failures" = 0 ]
