#!/usr/bin/python3
"""competitors.py LIB DATADIR WORKDIR MODE -- hnswlib or faiss (IndexHNSWFlat)
on the same .fvecs data, at M=16, ef_construction=200, inner product.

MODE build: build on 2 threads, save the index, print
    {"lib","build_seconds","bytes_on_disk"}
MODE search: load the saved index, one thread, sweep ef (best of five
passes each); print one line
    {"lib","ef","recall","qps"} per ef, then {"lib","peak_rss_kb"} (this
    process's peak RSS: the index as served, plus Python).
"""
import json
import os
import resource
import sys
import time

import numpy as np

EFS = [10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256, 384, 512]


def read_vecs(path, dtype):
    a = np.fromfile(path, dtype=np.int32)
    d = a[0]
    return a.reshape(-1, d + 1)[:, 1:].copy().view(dtype)


def recall(found, gt, k=10):
    hit = 0
    for f, g in zip(found, gt):
        hit += len(set(f[:k].tolist()) & set(g[:k].tolist()))
    return hit / (k * len(gt))


def main():
    lib, data, work, mode = sys.argv[1:5]
    path = os.path.join(work, lib + ".index")
    if mode == "build":
        base = read_vecs(os.path.join(data, "base.fvecs"), np.float32)
        n, d = base.shape
        t0 = time.perf_counter()
        if lib == "hnswlib":
            import hnswlib
            idx = hnswlib.Index(space="ip", dim=d)
            idx.init_index(max_elements=n, M=16, ef_construction=200, random_seed=1)
            idx.add_items(base, np.arange(n), num_threads=2)
            secs = time.perf_counter() - t0
            idx.save_index(path)
        else:
            import faiss
            faiss.omp_set_num_threads(2)
            idx = faiss.IndexHNSWFlat(d, 16, faiss.METRIC_INNER_PRODUCT)
            idx.hnsw.efConstruction = 200
            idx.add(base)
            secs = time.perf_counter() - t0
            faiss.write_index(idx, path)
        print(json.dumps({"lib": lib, "build_seconds": round(secs, 3), "bytes_on_disk": os.path.getsize(path)}))
        return
    query = read_vecs(os.path.join(data, "query.fvecs"), np.float32)
    gt = read_vecs(os.path.join(data, "gt.ivecs"), np.int32)
    d = query.shape[1]
    if lib == "hnswlib":
        import hnswlib
        idx = hnswlib.Index(space="ip", dim=d)
        idx.load_index(path)
        idx.set_num_threads(1)

        def search(ef):
            idx.set_ef(max(ef, 10))
            return idx.knn_query(query, k=10, num_threads=1)[0]
    else:
        import faiss
        faiss.omp_set_num_threads(1)
        idx = faiss.read_index(path)

        def search(ef):
            idx.hnsw.efSearch = max(ef, 10)
            return idx.search(query, 10)[1]
    search(64)  # warm the page cache and the allocator
    for ef in EFS:
        secs = None
        for _ in range(5):  # best of five, as nz-index search --repeat 5
            t0 = time.perf_counter()
            found = search(ef)
            took = time.perf_counter() - t0
            secs = took if secs is None else min(secs, took)
        r = recall(found, gt)
        print(json.dumps({"lib": lib, "ef": ef, "recall": round(r, 4), "qps": round(len(query) / secs, 1)}), flush=True)
        if r >= 0.995:
            break
    print(json.dumps({"lib": lib, "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
