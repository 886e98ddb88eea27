/*
 * mdns.c - find hosts on the local network through avahi-daemon: browse
 * _ssh._tcp, _workstation._tcp and _cohete._tcp, resolve every service
 * to an address, a port and its TXT record, and merge the services of one
 * host name into one row.
 *
 * avahi-client talks to the daemon over D-Bus, and several of its calls
 * (connecting, creating a browser or a resolver) block in libdbus for up
 * to its default 25 s when the daemon hangs. So the browse runs on its
 * own thread with its own simple poll, and the caller waits on a
 * condition variable until the deadline: a daemon that does not answer
 * costs the caller timeout_ms, never more. A browse the caller gave up on
 * finishes on its own (its blocking call returns) and frees itself; the
 * rows found so far are copied under the lock, so whatever was resolved
 * before the deadline is returned.
 *
 * The browse ends early when every browser has said "all for now" and
 * every resolver has answered, as `avahi-browse -t` does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/address.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/simple-watch.h>
#include <avahi-common/strlst.h>

#include "internal.h"
#include "mdns.h"

#define MDNS_HOSTS_MAX		1024	/* rows kept: a hostile network can */
#define MDNS_SERVICES_MAX	4096	/* announce without end */
#define MDNS_RESOLVERS_MAX	32	/* resolvers in flight at once */
#define MDNS_TXT_MAX		64	/* TXT strings looked at per service */
#define MDNS_TXT_LEN		256	/* a DNS character-string and its NUL */

enum svc_kind { SVC_SSH, SVC_WORKSTATION, SVC_COHETE, SVC_KINDS };

static const char *const svc_types[SVC_KINDS] = {
	[SVC_SSH] = "_ssh._tcp",
	[SVC_WORKSTATION] = "_workstation._tcp",
	[SVC_COHETE] = "_cohete._tcp",
};

/* A service the browsers reported, waiting for its resolver. */
struct mdns_service {
	AvahiIfIndex interface;
	AvahiProtocol protocol;
	enum svc_kind kind;
	char name[AVAHI_LABEL_MAX];
	char domain[256];
};

struct mdns_row {
	struct coh_mdns_host host;
	int rank;			/* of its address: see address_rank() */
};

struct mdns_browse {
	/* Shared by the caller and the browse thread, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t done;
	int refs;			/* the caller and the thread */
	int finished;			/* the thread is done with the daemon */
	int connected;			/* the browsers exist */
	int ret;			/* < 0: the browse failed, msg says why */
	char msg[256];
	struct mdns_row *rows;
	size_t count, cap;

	/* The browse thread's own. */
	uint64_t deadline_ns;
	unsigned int timeout_ms;
	AvahiSimplePoll *poll;
	AvahiClient *client;
	AvahiServiceBrowser *browsers[SVC_KINDS];
	int all_for_now[SVC_KINDS];
	int failed;
	struct mdns_service *services;
	size_t queued, next;		/* services[next..queued) wait */
	unsigned int active;		/* resolvers in flight */
};

/* --- TXT records -------------------------------------------------------- */

static int host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static int pnum_char(int c)
{
	return host_char(c) || c == '+';
}

static int release_char(int c)
{
	return (c >= '0' && c <= '9') || c == '.';
}

static int serial_char(int c)
{
	return host_char(c) || c == ':';
}

struct txt_key {
	const char *key;
	size_t offset, size;		/* the field in struct coh_mdns_host */
	int (*ok)(int c);		/* NULL: a port number */
};

static const struct txt_key txt_keys[] = {
	{ "id", offsetof(struct coh_mdns_host, id),
	  sizeof(((struct coh_mdns_host *)0)->id), host_char },
	{ "module", offsetof(struct coh_mdns_host, module),
	  sizeof(((struct coh_mdns_host *)0)->module), pnum_char },
	{ "l4t", offsetof(struct coh_mdns_host, l4t),
	  sizeof(((struct coh_mdns_host *)0)->l4t), release_char },
	{ "serial", offsetof(struct coh_mdns_host, serial),
	  sizeof(((struct coh_mdns_host *)0)->serial), serial_char },
	{ "agent_port", offsetof(struct coh_mdns_host, agent_port), 0, NULL },
};

/* 1..65535 in plain decimal digits, else 0. */
static uint16_t parse_port(const char *v, size_t len)
{
	unsigned long p = 0;

	if (len == 0 || len > 5 || v[0] == '0')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
		p = p * 10 + (unsigned long)(v[i] - '0');
	}
	return p <= 65535 ? (uint16_t)p : 0;
}

/* Store one value if it fits the field's size and character set. */
static int take_value(const struct txt_key *k, const char *v, struct coh_mdns_host *h)
{
	char *field = (char *)h + k->offset;
	size_t len = strlen(v);
	uint16_t port;

	if (!k->ok) {
		port = parse_port(v, len);
		if (!port)
			return 0;
		memcpy(field, &port, sizeof(port));
		return 1;
	}
	if (len == 0 || len >= k->size)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!k->ok((unsigned char)v[i]))
			return 0;
	memcpy(field, v, len + 1);
	return 1;
}

/*
 * RFC 6763 6.4: keys are case-insensitive, and of a key given twice only
 * the first counts, so a later copy cannot override a value that was
 * refused either.
 */
int coh__mdns_txt_parse(const char *const *txt, size_t n, struct coh_mdns_host *h)
{
	unsigned int seen = 0;
	int taken = 0;

	for (size_t i = 0; i < n; i++) {
		const char *eq = txt[i] ? strchr(txt[i], '=') : NULL;
		size_t klen = eq ? (size_t)(eq - txt[i]) : 0;

		if (!klen)
			continue;	/* a boolean attribute or no key */
		for (size_t k = 0; k < ARRAY_SIZE(txt_keys); k++) {
			if (strlen(txt_keys[k].key) != klen ||
			    strncasecmp(txt[i], txt_keys[k].key, klen))
				continue;
			if (!(seen & (1u << k)))
				taken += take_value(&txt_keys[k], eq + 1, h);
			seen |= 1u << k;
			break;
		}
	}
	return taken;
}

/* A TXT record's strings as C strings; those holding a NUL are left out. */
static size_t txt_strings(AvahiStringList *l, char (*buf)[MDNS_TXT_LEN],
			  const char **out)
{
	size_t n = 0;

	for (; l && n < MDNS_TXT_MAX; l = avahi_string_list_get_next(l)) {
		const uint8_t *text = avahi_string_list_get_text(l);
		size_t size = avahi_string_list_get_size(l);

		if (size >= MDNS_TXT_LEN || memchr(text, '\0', size))
			continue;
		memcpy(buf[n], text, size);
		buf[n][size] = '\0';
		out[n] = buf[n];
		n++;
	}
	return n;
}

/* --- Rows --------------------------------------------------------------- */

/* Higher is better: IPv4, then IPv4 link-local, global IPv6, link-local IPv6. */
static int address_rank(const AvahiAddress *a)
{
	if (a->proto == AVAHI_PROTO_INET)
		return (ntohl(a->data.ipv4.address) >> 16) == 0xa9fe ? 3 : 4;
	return a->data.ipv6.address[0] == 0xfe &&
	       (a->data.ipv6.address[1] & 0xc0) == 0x80 ? 1 : 2;
}

/* "10.0.0.5", "fd00::5", "fe80::5%eth0" (a link-local needs its interface). */
static void format_address(const AvahiAddress *a, AvahiIfIndex interface,
			   char *out, size_t size)
{
	char ifname[IF_NAMESIZE];
	size_t len;

	avahi_address_snprint(out, size, a);
	if (address_rank(a) != 1 || interface < 0 ||
	    !if_indextoname((unsigned int)interface, ifname))
		return;
	len = strlen(out);
	if (len + 1 + strlen(ifname) < size)
		snprintf(out + len, size - len, "%%%s", ifname);
}

/* The row of host name, made if new; NULL when the table is full. Locked. */
static struct mdns_row *row_for(struct mdns_browse *b, const char *name)
{
	struct mdns_row *rows;

	for (size_t i = 0; i < b->count; i++)
		if (!strcasecmp(b->rows[i].host.name, name))
			return &b->rows[i];
	if (b->count == MDNS_HOSTS_MAX)
		return NULL;
	if (b->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;

		rows = realloc(b->rows, cap * sizeof(*rows));
		if (!rows)
			return NULL;
		b->rows = rows;
		b->cap = cap;
	}
	memset(&b->rows[b->count], 0, sizeof(b->rows[0]));
	coh__strlcpy(b->rows[b->count].host.name, name, sizeof(b->rows[0].host.name));
	return &b->rows[b->count++];
}

static void merge(struct mdns_browse *b, enum svc_kind kind, const char *host_name,
		  const AvahiAddress *a, AvahiIfIndex interface, uint16_t port,
		  AvahiStringList *txt)
{
	char buf[MDNS_TXT_MAX][MDNS_TXT_LEN];	/* 16 KiB of the browse thread's stack */
	const char *strings[MDNS_TXT_MAX];
	size_t n = kind == SVC_COHETE ? txt_strings(txt, buf, strings) : 0;
	struct mdns_row *row;

	if (!host_name || strlen(host_name) >= sizeof(row->host.name))
		return;
	pthread_mutex_lock(&b->lock);
	row = row_for(b, host_name);
	if (row && address_rank(a) > row->rank) {
		row->rank = address_rank(a);
		format_address(a, interface, row->host.address, sizeof(row->host.address));
	}
	if (row && kind == SVC_SSH)
		row->host.ssh_port = port;
	else if (row && kind == SVC_WORKSTATION)
		row->host.workstation = 1;
	else if (row) {
		coh__mdns_txt_parse(strings, n, &row->host);
		row->host.agent_port = port;	/* the SRV record's is the truth */
	}
	pthread_mutex_unlock(&b->lock);
}

/* --- The avahi side (browse thread) ------------------------------------- */

static uint64_t now_ns(void)
{
	return pep_time_ns();
}

static enum svc_kind kind_of(const char *type)
{
	for (int k = 0; k < SVC_KINDS; k++)
		if (type && !strcasecmp(type, svc_types[k]))
			return (enum svc_kind)k;
	return SVC_KINDS;
}

static void pump(struct mdns_browse *b);

static void on_resolved(AvahiServiceResolver *r, AvahiIfIndex interface,
			AvahiProtocol protocol, AvahiResolverEvent event,
			const char *name, const char *type, const char *domain,
			const char *host_name, const AvahiAddress *a, uint16_t port,
			AvahiStringList *txt, AvahiLookupResultFlags flags, void *arg)
{
	struct mdns_browse *b = arg;
	enum svc_kind kind = kind_of(type);

	(void)protocol, (void)name, (void)domain, (void)flags;
	if (event == AVAHI_RESOLVER_FOUND && a && kind != SVC_KINDS)
		merge(b, kind, host_name, a, interface, port, txt);
	avahi_service_resolver_free(r);
	b->active--;
	pump(b);
}

/* Start resolvers for waiting services, MDNS_RESOLVERS_MAX at a time. */
static void pump(struct mdns_browse *b)
{
	while (b->active < MDNS_RESOLVERS_MAX && b->next < b->queued) {
		struct mdns_service *s = &b->services[b->next++];

		if (avahi_service_resolver_new(b->client, s->interface, s->protocol, s->name,
					       svc_types[s->kind], s->domain,
					       AVAHI_PROTO_UNSPEC, 0, on_resolved, b))
			b->active++;
	}
}

static void queue_service(struct mdns_browse *b, AvahiIfIndex interface,
			  AvahiProtocol protocol, enum svc_kind kind,
			  const char *name, const char *domain)
{
	struct mdns_service *s;

	if (!name || !domain || strlen(name) >= sizeof(s->name) ||
	    strlen(domain) >= sizeof(s->domain) || b->queued == MDNS_SERVICES_MAX)
		return;
	s = &b->services[b->queued++];
	s->interface = interface;
	s->protocol = protocol;
	s->kind = kind;
	memcpy(s->name, name, strlen(name) + 1);
	memcpy(s->domain, domain, strlen(domain) + 1);
	pump(b);
}

static void on_browse(AvahiServiceBrowser *sb, AvahiIfIndex interface,
		      AvahiProtocol protocol, AvahiBrowserEvent event,
		      const char *name, const char *type, const char *domain,
		      AvahiLookupResultFlags flags, void *arg)
{
	struct mdns_browse *b = arg;
	int k;

	(void)type;
	for (k = 0; k < SVC_KINDS && b->browsers[k] != sb; k++)
		;
	if (k == SVC_KINDS)
		return;		/* during avahi_service_browser_new() */
	switch (event) {
	case AVAHI_BROWSER_NEW:
		/* this machine's own services: it is not a device found */
		if (!(flags & AVAHI_LOOKUP_RESULT_LOCAL))
			queue_service(b, interface, protocol, (enum svc_kind)k,
				      name, domain);
		break;
	case AVAHI_BROWSER_ALL_FOR_NOW:
	case AVAHI_BROWSER_FAILURE:	/* this type is over; the others go on */
		b->all_for_now[k] = 1;
		break;
	case AVAHI_BROWSER_REMOVE:
	case AVAHI_BROWSER_CACHE_EXHAUSTED:
		break;
	}
}

static void on_client(AvahiClient *c, AvahiClientState state, void *arg)
{
	struct mdns_browse *b = arg;

	if (state == AVAHI_CLIENT_FAILURE) {
		b->failed = avahi_client_errno(c) ? avahi_client_errno(c) :
			    AVAHI_ERR_DISCONNECTED;
		avahi_simple_poll_quit(b->poll);
	}
}

/* An avahi error as -errno and a sentence; locked. */
static void set_error(struct mdns_browse *b, int avahi_error)
{
	const char *not_running = "avahi-daemon is not running (mDNS skipped)";

	switch (avahi_error) {
	case AVAHI_ERR_NO_DAEMON:
	case AVAHI_ERR_DISCONNECTED:
		b->ret = -ECONNREFUSED;
		coh__strlcpy(b->msg, not_running, sizeof(b->msg));
		return;
	case AVAHI_ERR_DBUS_ERROR:
		b->ret = -ENOENT;
		coh__strlcpy(b->msg, not_running, sizeof(b->msg));
		return;
	case AVAHI_ERR_NO_MEMORY:
		b->ret = -ENOMEM;
		break;
	case AVAHI_ERR_ACCESS_DENIED:
	case AVAHI_ERR_NOT_PERMITTED:
		b->ret = -EACCES;
		break;
	case AVAHI_ERR_TOO_MANY_CLIENTS:
	case AVAHI_ERR_TOO_MANY_OBJECTS:
		b->ret = -EBUSY;
		break;
	default:
		b->ret = -EPROTO;
		break;
	}
	snprintf(b->msg, sizeof(b->msg), "avahi-daemon: %s (mDNS skipped)",
		 avahi_strerror(avahi_error));
}

static int browse_done(const struct mdns_browse *b)
{
	for (int k = 0; k < SVC_KINDS; k++)
		if (!b->all_for_now[k])
			return 0;
	return b->active == 0 && b->next == b->queued;
}

/* Returns an avahi error, or 0. */
static int browse_start(struct mdns_browse *b)
{
	int error = AVAHI_ERR_NO_MEMORY;

	b->services = malloc(MDNS_SERVICES_MAX * sizeof(*b->services));
	b->poll = avahi_simple_poll_new();
	if (!b->services || !b->poll)
		return AVAHI_ERR_NO_MEMORY;
	b->client = avahi_client_new(avahi_simple_poll_get(b->poll), 0, on_client, b, &error);
	if (!b->client)
		return error;
	for (int k = 0; k < SVC_KINDS; k++) {
		b->browsers[k] = avahi_service_browser_new(b->client, AVAHI_IF_UNSPEC,
							   AVAHI_PROTO_UNSPEC, svc_types[k],
							   NULL, 0, on_browse, b);
		if (!b->browsers[k])
			return avahi_client_errno(b->client);
	}
	return 0;
}

static int browse_run(struct mdns_browse *b)
{
	int ret = browse_start(b);
	uint64_t now;

	if (ret)
		return ret;
	pthread_mutex_lock(&b->lock);
	b->connected = 1;
	pthread_mutex_unlock(&b->lock);
	while (!b->failed && !browse_done(b) && (now = now_ns()) < b->deadline_ns) {
		uint64_t left_ms = (b->deadline_ns - now + 999999) / 1000000;

		if (avahi_simple_poll_iterate(b->poll, (int)left_ms) < 0)
			return AVAHI_ERR_FAILURE;
	}
	return b->failed;
}

static void browse_release(struct mdns_browse *b)
{
	int last;

	pthread_mutex_lock(&b->lock);
	last = --b->refs == 0;
	pthread_mutex_unlock(&b->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->done);
	free(b->rows);
	free(b);
}

static void *browse_main(void *arg)
{
	struct mdns_browse *b = arg;
	int ret = browse_run(b);

	if (b->client)		/* frees the browsers and resolvers too */
		avahi_client_free(b->client);
	if (b->poll)
		avahi_simple_poll_free(b->poll);
	free(b->services);
	pthread_mutex_lock(&b->lock);
	if (ret)
		set_error(b, ret);
	b->finished = 1;
	pthread_cond_signal(&b->done);
	pthread_mutex_unlock(&b->lock);
	browse_release(b);
	return NULL;
}

/* --- The caller's side -------------------------------------------------- */

static int by_name(const void *x, const void *y)
{
	return strcasecmp(((const struct coh_mdns_host *)x)->name,
			  ((const struct coh_mdns_host *)y)->name);
}

/* Copy the rows out (sorted by name); locked. */
static int take_rows(struct mdns_browse *b, struct coh_mdns_host **hosts, size_t *count,
		     struct pep_err *err)
{
	struct coh_mdns_host *out;

	if (!b->count)
		return 0;
	out = malloc(b->count * sizeof(*out));
	if (!out)
		return pep_err_set(err, -ENOMEM, "mDNS: out of memory");
	for (size_t i = 0; i < b->count; i++)
		out[i] = b->rows[i].host;
	qsort(out, b->count, sizeof(*out), by_name);
	*hosts = out;
	*count = b->count;
	return 0;
}

/* Locked. */
static int browse_result(struct mdns_browse *b, struct coh_mdns_host **hosts,
			 size_t *count, struct pep_err *err)
{
	if (b->finished && b->ret < 0)
		return pep_err_set(err, b->ret, "%s", b->msg);
	if (!b->finished && !b->connected)
		return pep_err_set(err, -ETIMEDOUT, "avahi-daemon did not answer in %u ms "
				   "(mDNS skipped)", b->timeout_ms);
	return take_rows(b, hosts, count, err);
}

/* The browse thread takes no signal: they stay the caller's. */
static int start_thread(struct mdns_browse *b, struct pep_err *err)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int ret;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&tid, &attr, browse_main, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret)
		return pep_err_set(err, -ret, "mDNS: cannot start the browse thread");
	return 0;
}

int coh__mdns_browse(unsigned int timeout_ms, struct coh_mdns_host **hosts,
		     size_t *count, struct pep_err *err)
{
	struct mdns_browse *b;
	struct timespec until;
	int ret;

	*hosts = NULL;
	*count = 0;
	if (timeout_ms == 0)
		return pep_err_set(err, -EINVAL, "mDNS: a browse needs a timeout above 0 ms");
	b = calloc(1, sizeof(*b));
	if (!b)
		return pep_err_set(err, -ENOMEM, "mDNS: out of memory");
	pthread_mutex_init(&b->lock, NULL);
	coh__cond_init_monotonic(&b->done);
	b->refs = 2;
	b->timeout_ms = timeout_ms;
	b->deadline_ns = now_ns() + (uint64_t)timeout_ms * 1000000;
	until.tv_sec = (time_t)(b->deadline_ns / 1000000000);
	until.tv_nsec = (long)(b->deadline_ns % 1000000000);
	ret = start_thread(b, err);
	if (ret < 0) {
		b->refs = 1;
		browse_release(b);
		return ret;
	}
	pthread_mutex_lock(&b->lock);
	while (!b->finished && now_ns() < b->deadline_ns)
		pthread_cond_timedwait(&b->done, &b->lock, &until);
	ret = browse_result(b, hosts, count, err);
	pthread_mutex_unlock(&b->lock);
	browse_release(b);
	return ret;
}

void coh__mdns_free(struct coh_mdns_host *hosts)
{
	free(hosts);
}
