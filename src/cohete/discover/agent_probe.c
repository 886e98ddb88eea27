/*
 * Whether a host runs `cohete agent`, for hosts that did not announce one
 * over mDNS (found by ssh or on USB): connect to the agent's default port
 * and ask GET /v1/status, every host at once, within one deadline. An
 * answer that carries the agent's status schema is an agent; a refused
 * connection is none; silence stays unknown. The answer is a stranger's:
 * only its first bytes are read, and only two fixed strings are looked
 * for in them.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pepita/core.h>

#include "discover_priv.h"

#define ANSWER_MAX	1024		/* the status line and the schema */

struct conn {
	struct coh_found *row;
	int fd;
	int sent;
	size_t len;
	char answer[ANSWER_MAX + 1];
};

/* A non-blocking connect to a numeric address; -1 when none started. */
static int start_connect(const char *address, uint16_t port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	char service[8];
	int fd;

	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(address, service, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* The answer so far says whether this is an agent; -1 until it can. */
static int judge(const struct conn *c, int eof)
{
	if (c->len >= 12 && strncmp(c->answer, "HTTP/1.", 7))
		return 0;
	if (strstr(c->answer, "\"cohete.agent.status/"))
		return 1;
	return eof || c->len == ANSWER_MAX ? 0 : -1;
}

/* One step of a connection that poll() reported; 1 when it is done. */
static int step(struct conn *c, short revents)
{
	static const char request[] = "GET /v1/status HTTP/1.0\r\n"
				      "Accept: application/json\r\n\r\n";
	int soerr = 0, verdict;
	socklen_t sl = sizeof(soerr);
	ssize_t n;

	if (!c->sent) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr || (revents & (POLLERR | POLLHUP))) {
			c->row->agent = 0;	/* refused or unreachable */
			return 1;
		}
		if (send(c->fd, request, sizeof(request) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(request) - 1) {
			c->row->agent = 0;
			return 1;
		}
		c->sent = 1;
		return 0;
	}
	n = recv(c->fd, c->answer + c->len, ANSWER_MAX - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n > 0)
		c->len += (size_t)n;
	c->answer[c->len] = '\0';
	verdict = judge(c, n <= 0);
	if (verdict < 0)
		return 0;
	c->row->agent = verdict;
	c->row->agent_port = verdict ? COH_DISCOVER_AGENT_PORT : 0;
	return 1;
}

void coh__agent_probe_all(struct coh__rows *rows, unsigned int timeout_ms)
{
	struct conn *c = calloc(rows->count + 1, sizeof(*c));
	struct pollfd *pfd = calloc(rows->count + 1, sizeof(*pfd));
	uint64_t deadline = pep_time_ns() + (uint64_t)timeout_ms * 1000000;
	size_t n = 0, open;

	if (!c || !pfd)
		goto out;
	for (size_t i = 0; i < rows->count; i++) {
		struct coh_found *f = &rows->v[i];

		if (f->agent >= 0 || !f->address[0] || !f->identified)
			continue;
		c[n].fd = start_connect(f->address, COH_DISCOVER_AGENT_PORT);
		if (c[n].fd >= 0)
			c[n++].row = f;
	}
	for (open = n; open > 0;) {
		uint64_t now = pep_time_ns();

		if (now >= deadline)
			break;
		for (size_t i = 0; i < n; i++) {
			pfd[i].fd = c[i].fd;
			pfd[i].events = c[i].sent ? POLLIN : POLLOUT;
		}
		if (poll(pfd, n, (int)((deadline - now) / 1000000) + 1) < 0 &&
		    errno != EINTR)
			break;
		for (size_t i = 0; i < n; i++) {
			if (c[i].fd < 0 || !pfd[i].revents)
				continue;
			if (step(&c[i], pfd[i].revents)) {
				close(c[i].fd);
				c[i].fd = -1;	/* poll() skips it */
				open--;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
out:
	free(c);
	free(pfd);
}
