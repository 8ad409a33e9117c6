#!/usr/bin/env python3
"""The constants of dg__oks_exp (host/ref/shape_ref.c, kernels/shapes.cl).

exp(x) = 2^k * 2^(j/64) * exp(r): prints 2^(j/64) for j = 0..63 as pairs of
doubles (hi, the nearest double; lo, the nearest double to what hi misses),
and ln 2 / 64 split as hi (36 significant bits, so that n * hi is exact for
|n| < 2^17) and lo, all as C99 hex floats. Decimal arithmetic at 60 digits.
"""
import math
from decimal import Decimal, getcontext

getcontext().prec = 60
LN2 = Decimal(2).ln()


def nearest(d):
    f = float(d)
    best, err = f, abs(Decimal(f) - d)
    for c in (math.nextafter(f, math.inf), math.nextafter(f, -math.inf)):
        e = abs(Decimal(c) - d)
        if e < err:
            best, err = c, e
    return best


def main():
    x = LN2 / 64
    _, e = math.frexp(float(x))
    hi = math.ldexp(math.floor(math.ldexp(float(x), 36 - e)), e - 36)
    print("LN2_64_HI", hi.hex())
    print("LN2_64_LO", nearest(x - Decimal(hi)).hex())
    print("INV_LN2_64", nearest(64 / LN2).hex())
    for j in range(64):
        t = (LN2 * j / 64).exp()
        h = nearest(t)
        print(f"    {{{h.hex()}, {nearest(t - Decimal(h)).hex()}}},")


if __name__ == "__main__":
    main()
