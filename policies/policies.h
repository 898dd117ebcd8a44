/*
 * policies: the scheduling policies, as a registry of ops structs looked up by
 * name. A policy only orders the runnable jobs (struct sched_policy_ops in
 * scheduler.h); allocation is the mode's job.
 */
#ifndef SYNERGY_POLICIES_H
#define SYNERGY_POLICIES_H

#include "scheduler.h"

/* NULL-terminated, in the order --help lists them. */
extern const struct sched_policy_ops *const sched_policies[];

/* Look a policy up by name, case-insensitively. NULL if unknown. */
const struct sched_policy_ops *policy_find(const char *name);

#endif
