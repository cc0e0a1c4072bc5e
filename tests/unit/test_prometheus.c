// SPDX-License-Identifier: GPL-2.0
/*
 * test_prometheus.c - the exposition as Prometheus parses it, from a
 * snapshot made up here: label values escaped and valid UTF-8 whatever a
 * reference holds, the stable names present, unmatched packets as
 * action="pass_no_rule", tapis_up 0 with nothing loaded (and only what is
 * known then), every family with HELP and TYPE, counters ending in _total;
 * and the --listen addresses serve accepts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "../../user/lib/output.h"
#include "../../user/lib/serve.h"

static char *render(const struct snapshot *s, const struct prom_meta *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(prom_render(s, m, f), 0);
	fclose(f);
	return buf;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return true;
	return false;
}

/* Every sample's family was declared with HELP and TYPE before it, and
 * every counter family ends in _total. */
static void check_families(const char *text)
{
	char *copy = strdup(text), *save = NULL, *line, typed[128] = "";

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[32];

		if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(name, "_total"));
			snprintf(typed, sizeof(typed), "%s", name);
			continue;
		}
		if (line[0] == '#')
			continue;
		size_t n = strcspn(line, "{ ");

		if (strlen(typed) != n || strncmp(line, typed, n))
			fail_msg("sample outside its family: %s (family %s)", line, typed);
	}
	free(copy);
}

static struct snapshot *fake(void)
{
	static struct rule_stat r[2];
	static struct snapshot s;

	memset(&s, 0, sizeof(s));
	memset(r, 0, sizeof(r));
	snprintf(r[0].name, sizeof(r[0].name), "court-order-0714");
	/* A quote, a backslash, a newline and a byte that is not UTF-8. */
	snprintf(r[0].reference, sizeof(r[0].reference), "ORDER \"7\\14\"\nline2 \xff end ü");
	r[0].action = TAPIS_ACT_DROP;
	r[0].expires_unix = 1798675200; /* 2026-12-31T00:00:00Z */
	r[0].packets = 12;
	r[0].bytes = 960;
	r[0].kinds[TAPIS_KIND_DNS].packets = 4;
	r[0].kinds[TAPIS_KIND_NET].packets = 8;
	r[0].last_hit_unix_ns = 1796000000123456789LL;
	snprintf(r[1].name, sizeof(r[1].name), "quiet");
	r[1].action = TAPIS_ACT_MONITOR;
	s.rules = r;
	s.n_rules = 2;
	s.actions_packets[TAPIS_ACT_NONE] = 100;
	s.actions_packets[TAPIS_ACT_DROP] = 12;
	s.stats[TAPIS_S_EVENTS] = 5;
	s.stats[TAPIS_S_EVENTS_LOST] = 2;
	s.state.loaded_unix = 1796000000;
	s.state.ifaces[3].in_use = 1;
	snprintf(s.state.ifaces[3].name, sizeof(s.state.ifaces[3].name), "eth1");
	s.state.ifaces[3].mode = 1; /* XDP_MODE_NATIVE */
	return &s;
}

static void test_loaded(void **state)
{
	struct prom_meta m = {.version = "1.2.3", .have_apply = true, .apply_unix = 1796000100};
	char *t;

	(void)state;
	t = render(fake(), &m);
	check_families(t);
	assert_true(has_line(t, "tapis_up 1"));
	assert_true(has_line(t, "tapis_build_info{version=\"1.2.3\"} 1"));
	assert_true(has_line(
		t, "tapis_rule_packets_total{rule=\"court-order-0714\",action=\"drop\"} 12"));
	assert_true(has_line(
		t, "tapis_rule_kind_packets_total{rule=\"court-order-0714\",action=\"drop\","
		   "kind=\"dns\"} 4"));
	assert_true(has_line(t, "tapis_rule_kind_packets_total{rule=\"quiet\",action=\"monitor\","
				"kind=\"flow\"} 0"));
	assert_true(has_line(t, "tapis_rule_last_hit_timestamp_seconds{rule=\"court-order-0714\","
				"action=\"drop\"} 1796000000.123"));
	/* The escapes of the format, and U+FFFD for the stray byte. */
	assert_true(has_line(t, "tapis_rule_info{rule=\"court-order-0714\",action=\"drop\","
				"reference=\"ORDER \\\"7\\\\14\\\"\\nline2 \xef\xbf\xbd end ü\","
				"expires=\"2026-12-31T00:00:00Z\"} 1"));
	assert_true(has_line(t, "tapis_rule_info{rule=\"quiet\",action=\"monitor\",reference=\"\","
				"expires=\"\"} 1"));
	assert_true(has_line(t, "tapis_action_packets_total{action=\"pass_no_rule\"} 100"));
	assert_null(strstr(t, "action=\"none\""));
	assert_true(has_line(t, "tapis_events_total 5"));
	assert_true(has_line(t, "tapis_events_lost_total 2"));
	assert_true(has_line(t, "tapis_interface_info{interface=\"eth1\",mode=\"native\","
				"multiprog=\"no\"} 1"));
	assert_true(has_line(t, "tapis_interfaces_attached 1"));
	assert_true(has_line(t, "tapis_policy_loaded_timestamp_seconds 1796000000"));
	assert_true(has_line(t, "tapis_policy_applied_timestamp_seconds 1796000000"));
	assert_true(has_line(t, "tapis_policy_last_reload_timestamp_seconds 1796000100"));
	assert_true(has_line(t, "tapis_policy_last_reload_success 0"));

	/* And Prometheus's own linter agrees, where it is installed (make
	 * deps installs it). */
	if (system("command -v promtool >/dev/null 2>&1") == 0) {
		char path[] = "/tmp/tapis-prom.XXXXXX", cmd[96];
		int fd = mkstemp(path);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

		assert_non_null(f);
		fputs(t, f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "promtool check metrics <%s", path);
		assert_int_equal(system(cmd), 0);
		unlink(path);
	}
	free(t);
}

/* Nothing loaded: up 0, the build, and the audit log's last word only. */
static void test_not_loaded(void **state)
{
	struct prom_meta m = {.version = "1.2.3", .have_apply = true, .apply_ok = true};
	char *t;

	(void)state;
	t = render(NULL, &m);
	check_families(t);
	assert_true(has_line(t, "tapis_up 0"));
	assert_true(has_line(t, "tapis_policy_last_reload_success 1"));
	assert_null(strstr(t, "tapis_rule_"));
	assert_null(strstr(t, "tapis_action_"));
	free(t);
	t = render(NULL, NULL);
	assert_true(has_line(t, "tapis_build_info{version=\"unknown\"} 1"));
	assert_null(strstr(t, "last_reload"));
	free(t);
}

static void test_listen(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(serve_parse_listen("127.0.0.1:9477", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9477);
	assert_int_equal(serve_parse_listen("[::1]:9100", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9100);
	assert_int_equal(serve_parse_listen("0.0.0.0:1", &ss, &len), 0);
	static const char *const bad[] = {
		"",
		"9477",
		":9477",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:0",
		"127.0.0.1:65536",
		"127.0.0.1:94x",
		"::1:9477",
		"[::1]9477",
		"[::1]",
		"localhost:9477",
		"198.18.0.300:9477",
		"[127.0.0.1]:9477",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (serve_parse_listen(bad[i], &ss, &len) != -EINVAL)
			fail_msg("--listen '%s' accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loaded),
		cmocka_unit_test(test_not_loaded),
		cmocka_unit_test(test_listen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
