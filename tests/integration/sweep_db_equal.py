#!/usr/bin/env python3
"""Check that two sweep results databases hold the same runs, run by run.

Runs are matched by (grid fingerprint, point number). For each pair every
column of `runs` must be equal except those that say where and when it ran
(id, batch_id, pid, host, started_at, finished_at, wall_s), and its `jobs`
and `rounds` rows must be identical. Exit 0 when equal, 1 with the first
differences on stderr.
usage: sweep_db_equal.py A.db B.db [EXPECTED_RUNS]
"""
import sqlite3
import sys

SKIP = {"id", "batch_id", "pid", "host", "started_at", "finished_at", "wall_s"}


def load(path):
    db = sqlite3.connect(path)
    cols = [r[1] for r in db.execute("PRAGMA table_info(runs)") if r[1] not in SKIP]
    runs = {}
    for row in db.execute("SELECT id, %s FROM runs WHERE status = 'complete'" % ", ".join(cols)):
        rec = dict(zip(cols, row[1:]))
        key = (rec["grid"], rec["point"])
        if key in runs:
            sys.exit("%s: point %s of grid %s twice" % (path, key[1], key[0]))
        jobs = db.execute("SELECT * FROM jobs WHERE run_id = ? ORDER BY job_id", (row[0],)).fetchall()
        rounds = db.execute("SELECT * FROM rounds WHERE run_id = ? ORDER BY round", (row[0],)).fetchall()
        runs[key] = (rec, [j[1:] for j in jobs], [r[1:] for r in rounds])
    n_all = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    return runs, n_all


def main():
    a, na = load(sys.argv[1])
    b, nb = load(sys.argv[2])
    bad = []
    if len(sys.argv) > 3 and not (len(a) == len(b) == na == nb == int(sys.argv[3])):
        bad.append("runs: %d complete of %d in %s, %d of %d in %s, want %s each"
                   % (len(a), na, sys.argv[1], len(b), nb, sys.argv[2], sys.argv[3]))
    for key in sorted(set(a) | set(b), key=lambda k: (str(k[0]), k[1])):
        if key not in a or key not in b:
            bad.append("point %s: only in %s" % (key[1], sys.argv[1] if key in a else sys.argv[2]))
            continue
        (ra, ja, ca), (rb, jb, cb) = a[key], b[key]
        diff = [c for c in ra if ra[c] != rb[c]]
        if diff:
            bad.append("point %s: %s" % (key[1], ", ".join("%s %r != %r" % (c, ra[c], rb[c]) for c in diff)))
        if ja != jb:
            bad.append("point %s: jobs differ (%d vs %d rows)" % (key[1], len(ja), len(jb)))
        if ca != cb:
            bad.append("point %s: rounds differ (%d vs %d rows)" % (key[1], len(ca), len(cb)))
    if not a:
        bad.append("no complete runs")
    for line in bad[:20]:
        print(line, file=sys.stderr)
    if not bad:
        print("%d runs equal, run by run (jobs and rounds too)" % len(a))
    sys.exit(1 if bad else 0)


main()
