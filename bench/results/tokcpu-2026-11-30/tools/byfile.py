"""byfile.py RAW: the main thread's self samples of a py-spy --format raw profile, by file."""
import sys, collections
total=0; byf=collections.Counter(); main=0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" "); n=int(n)
    frames = stack.split(";")
    if "Thread._bootstrap" in frames[0]: continue
    main += n
    leaf = frames[-1]
    f = leaf.split(" (")[1].split(":")[0] if " (" in leaf else leaf
    byf[f] += n
print("main samples", main)
for f, c in byf.most_common(40): print(f"{c/main*100:5.1f}% {f}")
