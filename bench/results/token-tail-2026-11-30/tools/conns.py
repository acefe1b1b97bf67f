import json, sys, statistics, re, os
from collections import defaultdict
d = sys.argv[1]
rec = json.load(open(os.path.join(d, "client.json")))
ports = {int(k): v for k, v in json.load(open(os.path.join(d, "client.json.ports"))).items()}
pid_of = {}
import glob
for f in glob.glob(os.path.join(d, "server-*.json")):
    pid = f.split("-")[-1][:-5]
    for e in json.load(open(f)):
        if e[0] == "conn":
            pid_of[e[3]] = [pid]
for line in []:
    f = line.split()
    m = re.search(r"pid=(\d+)", line)
    if m and len(f) >= 5:
        pid_of.setdefault(int(f[3].rsplit(":", 1)[1]), []).append(m.group(1))
pid_of = {k: min(v) for k, v in pid_of.items()}
by = defaultdict(list)
for t, l, c in rec:
    by[c].append(l)
groups = defaultdict(list)
for c, v in by.items():
    groups[pid_of.get(ports[c], "?")].append((statistics.mean(v) * 1e3, len(v)))
for pid, v in groups.items():
    allv = [l for c, vv in by.items() if pid_of.get(ports[c], "?") == pid for l in vv]
    allv.sort()
    print(pid, "conns", len(v), "reqs", sum(n for m, n in v), "mean ms %.2f p50 %.2f p99 %.2f" % (statistics.mean(allv)*1e3, allv[len(allv)//2]*1e3, allv[int(len(allv)*.99)]*1e3))
