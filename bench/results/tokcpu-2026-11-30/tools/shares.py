"""shares.py RAW [N]: a py-spy --format raw profile: samples per thread root, the N functions
with the largest inclusive share, and the largest self shares."""
import sys, collections
path = sys.argv[1]
keys = sys.argv[2:]
total = 0
incl = collections.Counter(); selfc = collections.Counter(); threads = collections.Counter()
for line in open(path):
    stack, _, n = line.rstrip().rpartition(" ")
    n = int(n); total += n
    frames = stack.split(";")
    seen = set()
    for f in frames:
        name = f.split(" (")[0] + " " + (f.split(" (")[1].split(":")[0] if " (" in f else "")
        if name not in seen:
            incl[name] += n; seen.add(name)
    selfc[frames[-1]] += n
    threads[frames[0]] += n
print("total", total)
print("== threads/roots"); [print(f"{c/total*100:5.1f}% {k[:150]}") for k, c in threads.most_common(8)]
print("== inclusive"); [print(f"{c/total*100:5.1f}% {k[:150]}") for k, c in incl.most_common(int(keys[0]) if keys else 70)]
print("== self"); [print(f"{c/total*100:5.1f}% {k[:150]}") for k, c in selfc.most_common(40)]
