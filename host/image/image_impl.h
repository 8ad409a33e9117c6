/* Shared by the files of host/image/ (not an interface of the layer). */
#ifndef DG_IMAGE_IMPL_H
#define DG_IMAGE_IMPL_H

/* 1 when s ends in suf, compared without case (ASCII). */
int dg__has_ending(const char *s, const char *suf);

#endif
