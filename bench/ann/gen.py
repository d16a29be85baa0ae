#!/usr/bin/python3
"""gen.py -- clustered, low-intrinsic-dimension vectors like real text
embeddings, as .fvecs, with exact ground truth as .ivecs.

    gen.py N NQ DIM OUTDIR [SEED]

Writes OUTDIR/base.fvecs (N rows), OUTDIR/query.fvecs (NQ rows, drawn
from the same distribution but not in the base) and OUTDIR/gt.ivecs (the
100 nearest base rows of each query by cosine, best first).

The model: rows live near a LATENT-dimensional subspace of the DIM-space
(text-embedding-3-small's vectors have an intrinsic dimension of a few
dozen); inside it they gather in CLUSTERS clusters of uneven size and
spread, like topics; a little isotropic noise lifts them off the
subspace. Everything is L2-normalised, so cosine = inner product.
"""
import os
import sys

import numpy as np

LATENT = 64
CLUSTERS = 256
NOISE = 0.03
GT_K = 100


def write_vecs(path, a, dtype):
    a = np.ascontiguousarray(a, dtype=dtype)
    n, d = a.shape
    out = np.empty((n, d + 1), dtype=np.int32)
    out[:, 0] = d
    out[:, 1:] = a.view(np.int32)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        out.tofile(f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def main():
    n, nq, dim = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    outdir = sys.argv[4]
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 42
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((LATENT, dim)).astype(np.float32) / np.sqrt(LATENT)
    centers = rng.standard_normal((CLUSTERS, LATENT)).astype(np.float32)
    spread = rng.uniform(0.3, 0.9, CLUSTERS).astype(np.float32)
    weight = rng.dirichlet(np.ones(CLUSTERS) * 0.7)

    def draw(m):
        out = np.empty((m, dim), dtype=np.float32)
        for s in range(0, m, 20000):
            k = min(20000, m - s)
            c = rng.choice(CLUSTERS, size=k, p=weight)
            z = centers[c] + rng.standard_normal((k, LATENT)).astype(np.float32) * spread[c, None]
            x = z @ basis + rng.standard_normal((k, dim)).astype(np.float32) * NOISE
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            out[s:s + k] = x
        return out

    base = draw(n)
    query = draw(nq)
    write_vecs(os.path.join(outdir, "base.fvecs"), base, np.float32)
    write_vecs(os.path.join(outdir, "query.fvecs"), query, np.float32)
    k = min(GT_K, n)
    gt = np.empty((nq, k), dtype=np.int32)
    for s in range(0, nq, 500):
        sims = query[s:s + 500] @ base.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        ps = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-ps, axis=1, kind="stable")
        gt[s:s + 500] = np.take_along_axis(part, order, axis=1)
    write_vecs(os.path.join(outdir, "gt.ivecs"), gt, np.int32)


if __name__ == "__main__":
    main()
