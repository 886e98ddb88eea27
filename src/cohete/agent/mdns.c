/*
 * mdns.c - the agent says where it is: a _cohete._tcp service on its
 * listen port, published through avahi-daemon, with a TXT record that
 * names the machine as the agent identified it (id, module, name, l4t,
 * serial, agent_port, api), so that `cohete discover` knows a Jetson and
 * its agent before it connects to anything.
 *
 * Publishing never stops the agent: without avahi-daemon it logs one line
 * and serves as before. avahi-client runs on its own thread (a threaded
 * poll), so the HTTP side is untouched; every callback below runs there.
 * A daemon that goes away (a restart) fails the client: a fresh one is
 * made with AVAHI_CLIENT_NO_FAIL, which waits for the daemon and publishes
 * again when it is back. A name another host already uses is replaced by
 * avahi's alternative ("cohete on jetson #2").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/strlst.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>

#include <cohete/agent.h>
#include <cohete/device.h>

#include "internal.h"
#include "agent_priv.h"

#define SERVICE_TYPE	"_cohete._tcp"
#define TXT_API		"1"		/* bumped when the TXT keys change meaning */

struct coh_agent_mdns {
	struct coh_agent *a;
	AvahiThreadedPoll *poll;
	AvahiClient *client;
	AvahiEntryGroup *group;		/* freed with the client */
	AvahiIfIndex interface;
	AvahiProtocol protocol;
	char *name;			/* avahi_malloc'd: renamed on collision */
	uint16_t port;
	AvahiStringList *txt;
	int said_waiting;		/* "not running" is logged once */
};

static void on_client(AvahiClient *c, AvahiClientState state, void *arg);

static void rename_service(struct coh_agent_mdns *m)
{
	char *alt = avahi_alternative_service_name(m->name);

	if (!alt)
		return;
	coh__agent_log(m->a, "mDNS: the name \"%s\" is taken on the network; "
		       "publishing as \"%s\"", m->name, alt);
	avahi_free(m->name);
	m->name = alt;
}

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *arg)
{
	struct coh_agent_mdns *m = arg;
	AvahiClient *c = avahi_entry_group_get_client(g);

	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		coh__agent_log(m->a, "mDNS: published %s \"%s\" on port %u", SERVICE_TYPE,
			       m->name, (unsigned int)m->port);
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		rename_service(m);
		avahi_entry_group_reset(g);
		on_client(c, AVAHI_CLIENT_S_RUNNING, m);
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		coh__agent_log(m->a, "mDNS: not published: %s",
			       avahi_strerror(avahi_client_errno(c)));
		break;
	case AVAHI_ENTRY_GROUP_UNCOMMITED:
	case AVAHI_ENTRY_GROUP_REGISTERING:
		break;
	}
}

/* Add the service to the (empty) group and commit; a taken name is renamed. */
static void publish(struct coh_agent_mdns *m, AvahiClient *c)
{
	int ret, tries = 0;

	if (!m->group && !(m->group = avahi_entry_group_new(c, on_group, m))) {
		coh__agent_log(m->a, "mDNS: not published: %s",
			       avahi_strerror(avahi_client_errno(c)));
		return;
	}
	if (!avahi_entry_group_is_empty(m->group))
		return;
	do {
		ret = avahi_entry_group_add_service_strlst(m->group, m->interface, m->protocol,
							   0, m->name, SERVICE_TYPE, NULL,
							   NULL, m->port, m->txt);
		if (ret == AVAHI_ERR_COLLISION)
			rename_service(m);
	} while (ret == AVAHI_ERR_COLLISION && ++tries < 16);
	if (ret == 0)
		ret = avahi_entry_group_commit(m->group);
	if (ret < 0) {
		coh__agent_log(m->a, "mDNS: not published: %s", avahi_strerror(ret));
		avahi_entry_group_reset(m->group);
	}
}

/* Out of the failed client's callback: a fresh client that waits for the daemon. */
static void reconnect(AvahiTimeout *t, void *arg)
{
	struct coh_agent_mdns *m = arg;
	const AvahiPoll *api = avahi_threaded_poll_get(m->poll);
	int error;

	api->timeout_free(t);
	if (m->client)
		avahi_client_free(m->client);
	m->client = NULL;
	m->group = NULL;
	m->said_waiting = 0;
	if (!avahi_client_new(api, AVAHI_CLIENT_NO_FAIL, on_client, m, &error)) {
		m->client = NULL;	/* on_client may have seen the one freed */
		coh__agent_log(m->a, "mDNS: not published any more: %s", avahi_strerror(error));
	}
}

static void on_failure(struct coh_agent_mdns *m, AvahiClient *c)
{
	const AvahiPoll *api = avahi_threaded_poll_get(m->poll);
	int error = avahi_client_errno(c);
	struct timeval now;

	if (error != AVAHI_ERR_DISCONNECTED) {
		coh__agent_log(m->a, "mDNS: not published any more: %s", avahi_strerror(error));
		return;
	}
	coh__agent_log(m->a, "mDNS: avahi-daemon went away; publishing again when it is back");
	gettimeofday(&now, NULL);
	if (!api->timeout_new(api, &now, reconnect, m))
		coh__agent_log(m->a, "mDNS: not published any more: out of memory");
}

static void on_client(AvahiClient *c, AvahiClientState state, void *arg)
{
	struct coh_agent_mdns *m = arg;

	m->client = c;		/* also during avahi_client_new(), before it returns */
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		publish(m, c);
		break;
	case AVAHI_CLIENT_S_COLLISION:
	case AVAHI_CLIENT_S_REGISTERING:
		/* The daemon's host name changes: publish again when it runs. */
		if (m->group)
			avahi_entry_group_reset(m->group);
		break;
	case AVAHI_CLIENT_CONNECTING:
		if (!m->said_waiting)
			coh__agent_log(m->a, "mDNS: not published: avahi-daemon is not running "
				       "(published when it starts)");
		m->said_waiting = 1;
		break;
	case AVAHI_CLIENT_FAILURE:
		on_failure(m, c);
		break;
	}
}

/* --- What is published -------------------------------------------------- */

static int is_loopback(const struct coh_agent *a)
{
	struct in6_addr in6;
	struct in_addr in4;

	if (a->ipv6)
		return inet_pton(AF_INET6, a->listen_addr, &in6) == 1 &&
		       IN6_IS_ADDR_LOOPBACK(&in6);
	return inet_pton(AF_INET, a->listen_addr, &in4) == 1 &&
	       (ntohl(in4.s_addr) >> 24) == 127;
}

/*
 * An agent bound to one address is announced on that address's interface
 * only; bound to all of them (0.0.0.0, ::), on every interface.
 */
static void choose_interface(struct coh_agent_mdns *m, const struct coh_agent *a)
{
	int family = a->ipv6 ? AF_INET6 : AF_INET;
	unsigned char want[16], have[16];
	struct ifaddrs *list, *i;
	size_t len = a->ipv6 ? 16 : 4;

	m->interface = AVAHI_IF_UNSPEC;
	m->protocol = AVAHI_PROTO_UNSPEC;
	if (inet_pton(family, a->listen_addr, want) != 1 ||
	    !memcmp(want, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", len) || getifaddrs(&list) < 0)
		return;
	for (i = list; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family)
			continue;
		memcpy(have, family == AF_INET ?
		       (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr :
		       (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, len);
		if (!memcmp(have, want, len)) {
			m->interface = (AvahiIfIndex)if_nametoindex(i->ifa_name);
			m->protocol = a->ipv6 ? AVAHI_PROTO_INET6 : AVAHI_PROTO_INET;
			break;
		}
	}
	freeifaddrs(list);
}

static AvahiStringList *add_pair(AvahiStringList *l, const char *key, const char *value)
{
	return value && *value ? avahi_string_list_add_pair(l, key, value) : l;
}

/* The TXT record, from the agent's own identification (avahi prepends). */
static int make_txt(struct coh_agent_mdns *m, struct coh_agent *a, char *host,
		    size_t host_size)
{
	const struct coh_device *d;
	char port[8];
	AvahiStringList *l = NULL;

	snprintf(port, sizeof(port), "%u", (unsigned int)m->port);
	pthread_mutex_lock(&a->lock);
	d = &a->latest->device;
	coh__strlcpy(host, d->hostname, host_size);
	l = add_pair(l, "api", TXT_API);
	l = add_pair(l, "agent_port", port);
	l = add_pair(l, "serial", d->serial);
	l = add_pair(l, "l4t", d->l4t);
	l = add_pair(l, "name", d->module ? d->module->name : NULL);
	l = add_pair(l, "module", d->module_pnum);
	l = add_pair(l, "id", d->hostname);
	pthread_mutex_unlock(&a->lock);
	m->txt = l;
	if (!*host && gethostname(host, host_size) < 0)
		coh__strlcpy(host, "jetson", host_size);
	host[host_size - 1] = '\0';
	return l ? 0 : -ENOMEM;
}

static int make_name(struct coh_agent_mdns *m, const char *host)
{
	char name[AVAHI_LABEL_MAX];

	/* A DNS label holds 63 bytes; avahi refuses a longer name. */
	snprintf(name, sizeof(name), "cohete on %s", host);
	m->name = avahi_strdup(name);
	return m->name ? 0 : -ENOMEM;
}

static void mdns_free(struct coh_agent_mdns *m)
{
	if (m->poll)
		avahi_threaded_poll_stop(m->poll);
	if (m->client)		/* the group with it */
		avahi_client_free(m->client);
	if (m->poll)
		avahi_threaded_poll_free(m->poll);
	avahi_string_list_free(m->txt);
	avahi_free(m->name);
	free(m);
}

/* Before the poll thread runs: nothing else touches m yet. */
static int mdns_connect(struct coh_agent_mdns *m)
{
	int error;

	m->poll = avahi_threaded_poll_new();
	if (!m->poll)
		return AVAHI_ERR_NO_MEMORY;
	if (!avahi_client_new(avahi_threaded_poll_get(m->poll), AVAHI_CLIENT_NO_FAIL,
			      on_client, m, &error)) {
		m->client = NULL;	/* on_client may have seen the one freed */
		return error;
	}
	return avahi_threaded_poll_start(m->poll) < 0 ? AVAHI_ERR_FAILURE : 0;
}

void coh__agent_mdns_start(struct coh_agent *a)
{
	struct coh_agent_mdns *m;
	char host[COH_DEVICE_STR];
	int ret;

	if (a->no_mdns)
		return;
	if (is_loopback(a)) {
		coh__agent_log(a, "mDNS: not published: %s is loopback, which no other "
			       "machine can reach", a->listen_addr);
		return;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return;
	m->a = a;
	m->port = a->port;
	choose_interface(m, a);
	if (make_txt(m, a, host, sizeof(host)) < 0 || make_name(m, host) < 0) {
		coh__agent_log(a, "mDNS: not published: out of memory");
		mdns_free(m);
		return;
	}
	ret = mdns_connect(m);
	if (ret == AVAHI_ERR_NO_DAEMON || ret == AVAHI_ERR_DBUS_ERROR)
		coh__agent_log(a, "mDNS: not published: avahi-daemon is not running");
	else if (ret)
		coh__agent_log(a, "mDNS: not published: %s", avahi_strerror(ret));
	if (ret) {
		mdns_free(m);
		return;
	}
	a->mdns = m;
}

/* Withdraw the service: the daemon says goodbye for us when we leave. */
void coh__agent_mdns_stop(struct coh_agent *a)
{
	if (!a->mdns)
		return;
	mdns_free(a->mdns);
	a->mdns = NULL;
}
