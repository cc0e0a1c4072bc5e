// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_unload.c - `tapis unload [--iface IF]`: detach from one interface or
 * from all; once no interface is left attached the pinned maps and program
 * are removed too, so `tapis load` can start afresh.
 */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "cli.h"
#include "log.h"
#include "output.h"

/* Names of the attached interfaces in s, as a JSON array, or printed. */
static struct json_object *iface_names(const struct snapshot *s, const char *skip_unless)
{
	struct json_object *a = json_object_new_array();
	char name[TAPIS_IFNAME_MAX + 1];
	unsigned i;

	for (i = 0; i < TAPIS_MAX_IFACES; i++) {
		const struct tapis_iface *ifc = &s->state.ifaces[i];

		if (!ifc->in_use)
			continue;
		memcpy(name, ifc->name, sizeof(ifc->name));
		name[sizeof(ifc->name)] = '\0';
		if (skip_unless && strcmp(name, skip_unless) != 0)
			continue;
		json_object_array_add(a, json_object_new_string(name));
	}
	return a;
}

static void print_names(struct json_object *a)
{
	size_t i, n = json_object_array_length(a);

	if (n == 0)
		printf(" none");
	for (i = 0; i < n; i++)
		printf("%s %s", i ? "," : "",
		       json_object_get_string(json_object_array_get_idx(a, i)));
}

int cmd_unload(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"iface", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct json_object *detached = NULL, *left = NULL;
	const char *ifname = NULL;
	int opt, rc = EXIT_POLICY, err;
	struct snapshot before, after;
	bool unpinned = false;
	struct tapis t;

	optind = 0;
	while ((opt = cli_getopt(c, argc, argv, ":hi:", opts, &rc)) != -1) {
		switch (opt) {
		case 'i':
			ifname = optarg;
			break;
		default:
			return rc;
		}
	}
	if (optind < argc)
		return cli_bad_args(c, "unexpected argument '%s'", argv[optind]);

	memset(&after, 0, sizeof(after));
	/* What a load killed half way left: nothing runs, only pins. */
	if (!ifname) {
		err = tapis_remove_stale(c->pin);
		if (!err) {
			struct audit_event ev = {.command = "unload",
						 .result = "removed stale pins"};

			cli_audit(c, &ev);
			if (c->json) {
				struct json_object *o = json_object_new_object();

				json_object_object_add(o, "ok", json_object_new_boolean(1));
				json_object_object_add(o, "stale_pins_removed",
						       json_object_new_boolean(1));
				cli_json_print(o);
			} else {
				printf("removed the pins a load that did not finish left at %s\n",
				       c->pin);
			}
			return EXIT_OK;
		}
		if (err != -ENOENT)
			return cli_open_failed(c, err);
	}
	rc = cli_open_snapshot(c, &t, false, &before);
	if (rc)
		return rc;
	detached = iface_names(&before, ifname);
	if (ifname && json_object_array_length(detached) == 0) {
		rc = cli_bad_args(c, "%s is not attached at %s", ifname, c->pin);
		goto out;
	}

	/* tapis_detach reports a failed detach itself, naming the interface. */
	err = tapis_detach(&t, ifname);
	if (err) {
		if (err == -EINVAL)
			pr_err("detach: libxdp cannot use the pinned program");
		rc = cli_exit_kernel(err);
		goto out;
	}
	rc = cli_snapshot(c, &t, &after);
	if (rc)
		goto out;
	if (snapshot_ifaces(&after) == 0) {
		err = tapis_unpin(&t);
		if (err) {
			cli_report(err, NULL, "remove the pins under %s", c->pin);
			rc = EXIT_KERNEL;
			goto out;
		}
		unpinned = true;
	}
	left = iface_names(&after, NULL);
	{
		struct audit_event ev = {.command = unpinned ? "unload" : "detach",
					 .entry = ifname};

		/* Lifting the filter lifts every rule: what each did is kept. */
		if (unpinned)
			ev.extra = audit_diff(&before, NULL, &ev.added, &ev.removed);
		cli_audit(c, &ev);
	}

	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "pin_path", json_object_new_string(c->pin));
		json_object_object_add(o, "detached", json_object_get(detached));
		json_object_object_add(o, "attached", json_object_get(left));
		json_object_object_add(o, "unpinned", json_object_new_boolean(unpinned));
		cli_json_print(o);
	} else {
		printf("detached from");
		print_names(detached);
		if (unpinned)
			printf("; nothing left attached, removed %s\n", c->pin);
		else {
			printf("; still attached to");
			print_names(left);
			printf("\n");
		}
	}
	rc = EXIT_OK;
out:
	json_object_put(detached);
	json_object_put(left);
	snapshot_free(&before);
	snapshot_free(&after);
	tapis_close(&t);
	return rc;
}
