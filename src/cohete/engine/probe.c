/*
 * probe.c - is an engine ready: llama-server's /health, then one tiny
 * completion, through libcurl's easy interface.
 *
 * /health alone answers 200 as soon as the model is loaded; the completion
 * proves the engine can actually run it (a CUDA context that fails on the
 * first batch answers /health all the same). The proxies of the
 * environment are not used (the engine is on this machine), signals are
 * not used (the supervisor probes from a thread), and a cancel flag cuts a
 * probe short when the supervisor stops.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include <cohete/engine.h>

#include "internal.h"
#include "engine_priv.h"

#define BODY_MAX	(64 * 1024)
#define COMPLETION	"{\"prompt\":\"1\",\"max_tokens\":1}"

struct body {
	char buf[BODY_MAX + 1];
	size_t len;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* curl_global_init is not thread-safe before libcurl 7.84: once, here. */
static void init_curl(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n, room = BODY_MAX - b->len;

	memcpy(b->buf + b->len, data, len < room ? len : room);
	b->len += len < room ? len : room;
	b->buf[b->len] = '\0';
	return len;			/* the rest is read and dropped */
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		       curl_off_t un)
{
	const atomic_int *cancel = arg;

	(void)dt; (void)dn; (void)ut; (void)un;
	return cancel && atomic_load(cancel) ? 1 : 0;
}

/* What an error body says: llama-server's {"error":{"message":...}} or its
 * first line, printable, at most 100 bytes. */
static void body_says(const struct body *b, char *out, size_t size)
{
	json_t *o = json_loadb(b->buf, b->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(json_object_get(o, "error"),
							    "message"));
	size_t n = 0;

	if (!msg)
		msg = json_string_value(json_object_get(o, "error"));
	if (!msg)
		msg = b->buf;
	for (const char *p = msg; *p && *p != '\n' && n + 1 < size && n < 100; p++)
		out[n++] = (unsigned char)*p < ' ' || *p == 0x7f ? '?' : *p;
	out[n] = '\0';
	json_decref(o);
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:		return -ETIMEDOUT;
	case CURLE_ABORTED_BY_CALLBACK:		return -ECANCELED;
	case CURLE_OUT_OF_MEMORY:		return -ENOMEM;
	default:				return -EIO;
	}
}

/* One request; 0 for a 200, else -errno with why "<what>: <reason>". */
static int request(CURL *c, const char *url, const char *post, const char *what,
		   unsigned int timeout_ms, const atomic_int *cancel, struct body *b,
		   char *why, size_t size)
{
	struct curl_slist *hdr = NULL;
	char said[128];
	long status = 0;
	CURLcode rc;

	b->len = 0;
	b->buf[0] = '\0';
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)cancel);
	if (post) {
		hdr = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	}
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		snprintf(why, size, "%s: %s", rc == CURLE_COULDNT_CONNECT ? "connect" : what,
			 rc == CURLE_COULDNT_CONNECT ? "Connection refused" :
			 curl_easy_strerror(rc));
		return curl_errno(rc);
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200)
		return 0;
	body_says(b, said, sizeof(said));
	snprintf(why, size, "%s: %ld%s%s", what, status, said[0] ? " " : "", said);
	return status == 503 ? -EBUSY : -EPROTO;
}

/* The completion's answer must hold a "choices" array. */
static int has_choices(const struct body *b)
{
	json_t *o = json_loadb(b->buf, b->len, 0, NULL);
	int ok = json_is_array(json_object_get(o, "choices"));

	json_decref(o);
	return ok;
}

/* "http://127.0.0.1:8080" or "http://[::1]:8080"; any address probes loopback. */
static void base_url(const char *host, uint32_t port, char *url, size_t size)
{
	if (!strcmp(host, "0.0.0.0"))
		host = "127.0.0.1";
	else if (!strcmp(host, "::"))
		host = "::1";
	snprintf(url, size, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host,
		 (unsigned int)port);
}

int coh__engine_probe(const char *host, uint32_t port, unsigned int timeout_ms,
		      const atomic_int *cancel, char *why, size_t size)
{
	char base[300], url[340];
	struct body *b = malloc(sizeof(*b));
	CURL *c;
	int ret;

	if (!timeout_ms)
		timeout_ms = 10000;
	pthread_once(&curl_once, init_curl);
	c = curl_easy_init();
	if (!c || !b) {
		curl_easy_cleanup(c);
		free(b);
		snprintf(why, size, "probe: out of memory");
		return -ENOMEM;
	}
	base_url(host, port, base, sizeof(base));
	snprintf(url, sizeof(url), "%s/health", base);
	ret = request(c, url, NULL, "GET /health", timeout_ms, cancel, b, why, size);
	if (ret == 0) {
		snprintf(url, sizeof(url), "%s/v1/completions", base);
		ret = request(c, url, COMPLETION, "POST /v1/completions", timeout_ms, cancel,
			      b, why, size);
	}
	if (ret == 0 && !has_choices(b)) {
		snprintf(why, size, "POST /v1/completions: 200 without a \"choices\" array");
		ret = -EPROTO;
	}
	if (ret == 0)
		snprintf(why, size, "ready");
	curl_easy_cleanup(c);
	free(b);
	return ret;
}

int coh_engine_probe(const char *host, uint32_t port, unsigned int timeout_ms,
		     char *why, size_t size)
{
	return coh__engine_probe(host, port, timeout_ms, NULL, why, size);
}
