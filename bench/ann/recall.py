#!/usr/bin/python3
"""recall.py GT.ivecs RESULT.ivecs [K] -- mean recall@K of RESULT against
the first K ground-truth ids of each query; prints one number."""
import sys

import numpy as np


def read_ivecs(path):
    a = np.fromfile(path, dtype=np.int32)
    d = a[0]
    return a.reshape(-1, d + 1)[:, 1:]


def main():
    gt, res = read_ivecs(sys.argv[1]), read_ivecs(sys.argv[2])
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    hit = 0
    for g, r in zip(gt, res):
        hit += len(set(g[:k].tolist()) & set(r[:k].tolist()))
    print("%.4f" % (hit / (k * len(gt))))


if __name__ == "__main__":
    main()
