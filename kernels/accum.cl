/*
 * accumulate_permute: the permutation step of accumulation.
 *
 * One work-item moves one (threshold row, sorted position) cell: with k
 * the position in sorted order (class ascending, score descending,
 * inference-set order) and order[k] the detection's inference-set index,
 *
 *     st_out[r * n + k] = st_in[r * n + order[k]]
 *     m_out[r * n + k]  = m_in[r * n + order[k]]
 *
 * for the n_rows threshold rows of this launch. Must give the same bytes as
 * dg__accumulate_ref() in host/results.c. Pure data movement: no floating
 * point, so no precision concerns.
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

__kernel void accumulate_permute(__global const uint *order,
                                 __global const uchar *st_in,
                                 __global const int *m_in, ulong n,
                                 uint n_rows, __global uchar *st_out,
                                 __global int *m_out)
{
    ulong k = get_global_id(0);
    uint r = get_global_id(1);
    if (k >= n || r >= n_rows)
        return;
    ulong src = (ulong)r * n + order[k], dst = (ulong)r * n + k;
    st_out[dst] = st_in[src];
    m_out[dst] = m_in[src];
}
