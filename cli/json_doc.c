/*
 * The head and the printing of every JSON document the tools print
 * (cli/json_doc.h), so that "schema", "timestamp" and the number format
 * are the same in all of them.
 */
#include <stdio.h>
#include <stdlib.h>

#include <pepita/core.h>

#include "cli.h"
#include "json_doc.h"

json_t *cli_json_doc(const char *schema, int64_t time_ms)
{
	char stamp[PEP_RFC3339_SIZE];
	json_t *doc = json_object();

	if (!doc || json_object_set_new(doc, "schema", json_string(schema)))
		goto fail;
	if (time_ms > 0 && (pep_time_rfc3339(time_ms, stamp, sizeof(stamp)) < 0 ||
			    json_object_set_new(doc, "timestamp", json_string(stamp))))
		goto fail;
	return doc;
fail:
	json_decref(doc);
	return NULL;
}

json_t *cli_json_add(json_t *doc, const char *key, json_t *value)
{
	if (doc && value && json_object_set_new(doc, key, value) == 0)
		return doc;
	if (!doc)
		json_decref(value);
	json_decref(doc);		/* set_new dropped value */
	return NULL;
}

json_t *cli_json_merge(json_t *doc, json_t *more)
{
	if (doc && more && json_object_update_new(doc, more) == 0)
		return doc;
	if (!doc)
		json_decref(more);
	json_decref(doc);
	return NULL;
}

int cli_json_print(json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
				      JSON_REAL_PRECISION(10)) : NULL;

	json_decref(doc);
	if (!text) {
		cli_error("cannot build the JSON document: out of memory");
		return CMD_EXIT_FAIL;
	}
	puts(text);
	free(text);
	return CMD_EXIT_OK;
}
