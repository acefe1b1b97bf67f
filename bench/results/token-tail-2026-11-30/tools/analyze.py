import json, sys, glob, os, statistics
from collections import defaultdict
d = sys.argv[1]
rec = json.load(open(os.path.join(d, "client.json")))
rec.sort()
t0 = rec[0][0]
lat = sorted(r[1] for r in rec)
n = len(lat)
p50, p99 = lat[n//2], lat[int(n*.99)]
print(f"n={n} p50={p50*1e3:.2f} p99={p99*1e3:.2f} max={lat[-1]*1e3:.1f}")
slow = [r for r in rec if r[1] >= p99]
# clustering: slow requests by 10ms bin of send time
bins = defaultdict(int)
for r in slow:
    bins[int((r[0]-t0)/0.05)] += 1
print("slow (>=p99) requests:", len(slow), "in", len(bins), "50ms bins; top bins:", sorted(bins.items(), key=lambda x: -x[1])[:10])
# server events
evs = []
for f in glob.glob(os.path.join(d, "server-*.json")):
    pid = f.split("-")[-1][:-5]
    for e in json.load(open(f)):
        evs.append((pid,) + tuple(e))
end = rec[-1][0] + rec[-1][1]
evs = [e for e in evs if t0 <= e[2] <= end]
by = defaultdict(list)
for e in evs:
    by[(e[0], e[1])].append(e)
for k, v in sorted(by.items()):
    durs = [ (x[3]-x[2])*1e3 for x in v]
    extra = [x[4] for x in v]
    print(k, "count", len(v), "dur ms median %.2f max %.2f" % (statistics.median(durs), max(durs)),
          "4th(cpu s or collected) median", statistics.median(extra) if extra else None, "max", max(extra))
# which slow requests overlap events
def overlaps(r, kinds):
    s, e = r[0], r[0] + r[1]
    return [x for x in evs if x[1] in kinds and x[2] < e and x[3] > s]
for kinds in (("audit",), ("ckpt",), ("log",), ("keys",), ("lag",), ("gc2",), ("gc1",), ("gc0",)):
    hit = sum(1 for r in slow if overlaps(r, kinds))
    import random
    sample = random.sample(rec, min(2000, len(rec)))
    base = sum(1 for r in sample if overlaps(r, kinds)) / len(sample)
    print(kinds, f"slow overlapping: {hit/len(slow):.2f}  all: {base:.2f}")
