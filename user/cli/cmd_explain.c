// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_explain.c - `tapis explain ADDRESS|NAME`: which rule of the running
 * policy applies, looked up in the same tables the XDP program reads, for
 * the address as destination and as source, and which of them wins.
 */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "hostname.h"
#include "log.h"
#include "output.h"

static const char *const dir_names[TAPIS_DIR_MAX] = {
	[TAPIS_DIR_DST] = "dst",
	[TAPIS_DIR_SRC] = "src",
};

#define WINNER_HOST 2

static struct json_object *hit_json(const struct explain_hit *h)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "match", json_object_new_boolean(h->found));
	if (!h->found)
		return o;
	json_object_object_add(o, "rule", json_object_new_string(h->rule_name));
	json_object_object_add(o, "rule_id", json_object_new_uint64(h->rule));
	json_object_object_add(o, "action", json_object_new_string(action_name(h->action)));
	json_object_object_add(o, "prefix", json_object_new_string(h->prefix));
	json_object_object_add(o, "expired", json_object_new_boolean(h->expired));
	return o;
}

static const struct explain_hit *winner_hit(const struct explain_result *r)
{
	if (r->winner == WINNER_HOST)
		return &r->host;
	if (r->winner >= 0 && r->winner < TAPIS_DIR_MAX)
		return &r->dir[r->winner];
	return NULL;
}

static const char *winner_name(int w)
{
	if (w == WINNER_HOST)
		return "host";
	if (w >= 0 && w < TAPIS_DIR_MAX)
		return dir_names[w];
	return NULL;
}

static void print_hit(const char *label, const struct explain_hit *h)
{
	if (!h->found) {
		printf("  %-4s no rule\n", label);
		return;
	}
	printf("  %-4s %s via rule %s (%s)%s\n", label, h->prefix, h->rule_name,
	       action_name(h->action), h->expired ? ", expired: ignored" : "");
}

static void explain_print(const struct cli *c, const char *query, const struct explain_result *r)
{
	const struct explain_hit *w = winner_hit(r);
	const char *wn = winner_name(r->winner);
	unsigned d;

	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "query", json_object_new_string(query));
		for (d = 0; d < TAPIS_DIR_MAX; d++)
			json_object_object_add(o, dir_names[d], hit_json(&r->dir[d]));
		json_object_object_add(o, "host", r->host.found ? hit_json(&r->host) : NULL);
		json_object_object_add(o, "winner", wn ? json_object_new_string(wn) : NULL);
		json_object_object_add(
			o, "action",
			json_object_new_string(action_name(w ? w->action : TAPIS_ACT_NONE)));
		json_object_object_add(o, "rule", w ? json_object_new_string(w->rule_name) : NULL);
		json_object_object_add(o, "why", r->why ? json_object_new_string(r->why) : NULL);
		cli_json_print(o);
		return;
	}
	printf("%s\n", query);
	for (d = 0; d < TAPIS_DIR_MAX; d++)
		print_hit(dir_names[d], &r->dir[d]);
	if (r->host.found)
		print_hit("host", &r->host);
	if (w)
		printf("  => %s by rule %s (%s match)%s%s\n", action_name(w->action), w->rule_name,
		       wn, r->why ? ": " : "", r->why ? r->why : "");
	else
		printf("  => passed%s%s\n", r->why ? ": " : "", r->why ? r->why : "");
}

int cmd_explain(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char norm[TAPIS_HOST_MAX + 2];
	struct explain_result r;
	const char *q, *why = NULL;
	int opt, rc = EXIT_POLICY, err;
	struct net_entry e;
	struct tapis t;
	bool is_name = false;

	optind = 0;
	/* --help is the only option: anything getopt returns ends the command. */
	if ((opt = cli_getopt(c, argc, argv, ":h", opts, &rc)) != -1)
		return rc;
	if (optind >= argc)
		return cli_bad_args(c, "ADDRESS or NAME is required");
	if (optind + 1 < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind + 1]);
	q = argv[optind];

	memset(&e, 0, sizeof(e));
	if (parse_cidr(q, &e, NULL) == 0) {
		if (strchr(q, '/') && e.plen != (e.family == 4 ? 32 : 128))
			return cli_bad_args(c, "'%s': give one address, not a prefix", q);
	} else if (hostname_normalize(q, norm, sizeof(norm), &why) == 0) {
		/* "198.18.0.300" is a mistyped address, not a name no pattern
		 * happens to match. */
		if (hostname_numeric_tld(norm))
			return cli_bad_args(c,
					    "'%s' is neither an address nor a hostname (its last "
					    "label is all digits)",
					    q);
		is_name = true;
	} else {
		return cli_bad_args(c, "'%s' is neither an address nor a hostname (%s)", q,
				    why ? why : "invalid");
	}

	memset(&t, 0, sizeof(t));
	rc = cli_open(c, &t, true);
	if (rc)
		return rc;
	memset(&r, 0, sizeof(r));
	r.winner = -1;
	err = is_name ? tapis_explain_name(&t, norm, &r) : tapis_explain_addr(&t, &e, &r);
	if (err) {
		pr_err("explain %s: %s", q, strerror(-err));
		rc = cli_exit_kernel(err);
	} else {
		explain_print(c, q, &r);
		rc = EXIT_OK;
	}
	tapis_close(&t);
	return rc;
}
