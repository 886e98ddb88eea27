/*
 * cli/json_doc.h - what every JSON document of pepita and cohete starts
 * with and how it is printed. The convention (docs/cohete.1 and
 * docs/pepita.1, JSON OUTPUT): "schema" is "<tool>.<command>/<N>", N
 * growing whenever a key is renamed or removed; a document that describes
 * a moment (a sample) carries "timestamp", RFC 3339 in UTC with
 * milliseconds; every key that holds a quantity ends in its unit (_bytes,
 * _mw, _mv, _ma, _mhz, _celsius, _percent, _ms, _s, _rpm, _count).
 */
#ifndef CLI_JSON_DOC_H
#define CLI_JSON_DOC_H

#include <stdint.h>

#include <jansson.h>

/*
 * A new object holding "schema" and, when time_ms > 0 (ms since 1970
 * UTC, pep_time_real_ms()), "timestamp". NULL when out of memory.
 */
json_t *cli_json_doc(const char *schema, int64_t time_ms);

/*
 * doc with key set to value, or with every key of the object more (both
 * stolen). NULL, with both dropped, when doc or value is NULL or memory
 * runs out, so calls chain into cli_json_print().
 */
json_t *cli_json_add(json_t *doc, const char *key, json_t *value);
json_t *cli_json_merge(json_t *doc, json_t *more);

/*
 * Print doc (indented; °C, percent and MHz with up to 10 significant
 * digits) and a newline on stdout, and drop the reference. CMD_EXIT_OK, or
 * CMD_EXIT_FAIL after an error on stderr when doc is NULL or cannot be
 * printed (out of memory).
 */
int cli_json_print(json_t *doc);

#endif /* CLI_JSON_DOC_H */
