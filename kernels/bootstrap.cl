/*
 * bootstrap_sums: one work-item computes one bootstrap resample. It draws
 * n universe frames with replacement, draw j being element j of a
 * splitmix64 stream keyed by (seed, resample), modulo n, and adds each
 * drawn frame's sparse (class, tp, fp, n_gt) counts, per inference set,
 * into its own row of 64-bit sums. Must agree byte for byte with
 * dg__bootstrap_sums_ref() in host/ref/bootstrap_ref.c: integer sums only.
 *
 * off:  n_sets * (n + 1) pair offsets (absolute into cls / cnt)
 * cls:  class of each pair; cnt: tp, fp, n_gt of each pair
 * sums: nb rows of n_sets * n_classes * 3 ulongs, row i for resample b0 + i
 */
#define BOOT_GAMMA 0x9E3779B97F4A7C15UL

ulong boot_mix64(ulong z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

__kernel void bootstrap_sums(__global const ulong *off,
                             __global const uint *cls,
                             __global const uint *cnt, uint n,
                             uint n_classes, uint n_sets, ulong seed,
                             uint b0, uint nb, __global ulong *sums)
{
    uint bi = (uint)get_global_id(0);
    if (bi >= nb)
        return;
    ulong row = (ulong)n_sets * n_classes * 3;
    __global ulong *o = sums + (ulong)bi * row;
    for (ulong k = 0; k < row; k++)
        o[k] = 0;
    ulong b = (ulong)b0 + bi;
    ulong key = boot_mix64(seed + (b + 1) * BOOT_GAMMA);
    for (uint j = 0; j < n; j++) {
        uint u = (uint)(boot_mix64(key + ((ulong)j + 1) * BOOT_GAMMA) % n);
        for (uint s = 0; s < n_sets; s++) {
            __global const ulong *so = off + (ulong)s * (n + 1);
            __global ulong *os = o + (ulong)s * n_classes * 3;
            for (ulong q = so[u]; q < so[u + 1]; q++) {
                __global ulong *oc = os + (ulong)cls[q] * 3;
                oc[0] += cnt[3 * q];
                oc[1] += cnt[3 * q + 1];
                oc[2] += cnt[3 * q + 2];
            }
        }
    }
}
