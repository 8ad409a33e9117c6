/*
 * The HDF5 file driver of detgrid's temporary files: the POSIX reads and
 * writes of HDF5's sec2 driver, on the descriptor detgrid created itself
 * (O_EXCL, O_NOFOLLOW: see safefile.c), with one difference that matters
 * on a full disk.
 *
 * libhdf5 1.10 does not survive its own error paths after a failed write:
 * H5Ocopy's cleanup after a failed object-header copy closes a datatype
 * twice (SIGSEGV in H5T_close_real, under H5O_copy_header_map), and a
 * failed H5Fclose leaves the file half closed in HDF5's table of ids, so
 * that the library's termination at exit closes it again (SIGSEGV in
 * H5F__close_cb, under H5_term_library). So this driver never lets HDF5
 * see a write fail: it latches the first error (errno) in the dg_tmpfile
 * and reports success; later writes of raw data are dropped, and writes of
 * metadata are kept in memory so that what HDF5 reads back is what it
 * wrote. detgrid checks the latch after each dataset and at the commit,
 * which then fails with the real reason and removes the file. The file
 * never reaches its target, so what was dropped does not matter.
 *
 * The driver reports the same features as sec2 and stores no driver
 * information in the superblock, so its files are byte for byte those
 * sec2 writes, and any HDF5 reader opens them.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <H5FDpublic.h>

#include "store_impl.h"

typedef struct fd_info {
    dg_tmpfile *t;
} fd_info;

/* Metadata written after the latched error, in write order. */
typedef struct held {
    haddr_t addr;
    size_t size;
    unsigned char *bytes;
    struct held *next;
} held;

typedef struct fd_file {
    H5FD_t pub; /* must be first */
    dg_tmpfile *t;
    haddr_t eoa, eof;
    dev_t dev;
    ino_t ino;
    held *first, *last;
} fd_file;

static void *fapl_copy(const void *info)
{
    fd_info *c = malloc(sizeof(*c));
    if (c)
        memcpy(c, info, sizeof(*c));
    return c;
}

static herr_t fapl_free(void *info)
{
    free(info);
    return 0;
}

/*
 * The driver information of an open file: what H5Fget_access_plist hands
 * back, and so what dg__h5_tmpfile_of finds the dg_tmpfile by (without it
 * HDF5 gives that list none, and the latch could be checked only at the
 * commit). HDF5 copies it with fapl_copy and frees it with fapl_free.
 */
static void *fd_fapl_get(H5FD_t *file)
{
    fd_info *c = malloc(sizeof(*c));
    if (c)
        c->t = ((fd_file *)file)->t;
    return c;
}

static H5FD_t *fd_open(const char *name, unsigned flags, hid_t fapl,
                       haddr_t maxaddr)
{
    (void)name;
    (void)maxaddr;
    const fd_info *fi = H5Pget_driver_info(fapl);
    if (!fi || !fi->t || fi->t->fd < 0)
        return NULL;
    fd_file *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fi->t->fd, &st) < 0) {
        free(f);
        return NULL;
    }
    f->t = fi->t;
    f->eof = (flags & H5F_ACC_TRUNC) ? 0 : (haddr_t)st.st_size;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    return &f->pub;
}

static herr_t fd_close(H5FD_t *file)
{
    fd_file *f = (fd_file *)file;
    for (held *h = f->first, *n; h; h = n) {
        n = h->next;
        free(h->bytes);
        free(h);
    }
    /* The descriptor belongs to the dg_tmpfile, which closes it. */
    free(f);
    return 0;
}

static int fd_cmp(const H5FD_t *a, const H5FD_t *b)
{
    const fd_file *x = (const fd_file *)a, *y = (const fd_file *)b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

static herr_t fd_query(const H5FD_t *file, unsigned long *flags)
{
    (void)file;
    /* sec2's features, so that the file's layout is sec2's. */
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA |
             H5FD_FEAT_DATA_SIEVE | H5FD_FEAT_AGGREGATE_SMALLDATA
#ifdef H5FD_FEAT_POSIX_COMPAT_HANDLE
             | H5FD_FEAT_POSIX_COMPAT_HANDLE
#endif
#ifdef H5FD_FEAT_DEFAULT_VFD_COMPATIBLE
             | H5FD_FEAT_DEFAULT_VFD_COMPATIBLE
#endif
        ;
    return 0;
}

static haddr_t fd_get_eoa(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const fd_file *)file)->eoa;
}

static herr_t fd_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr)
{
    (void)type;
    ((fd_file *)file)->eoa = addr;
    return 0;
}

static haddr_t fd_get_eof(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const fd_file *)file)->eof;
}

static herr_t fd_get_handle(H5FD_t *file, hid_t fapl, void **handle)
{
    (void)fapl;
    *handle = &((fd_file *)file)->t->fd;
    return 0;
}

static herr_t fd_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr,
                      size_t size, void *buf)
{
    (void)type;
    (void)dxpl;
    fd_file *f = (fd_file *)file;
    unsigned char *p = buf;
    size_t done = 0;
    while (done < size) {
        ssize_t r = pread(f->t->fd, p + done, size - done,
                          (off_t)(addr + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1; /* a read error is HDF5's to report, and safe */
        if (r == 0) {
            memset(p + done, 0, size - done); /* past the end: zeros */
            break;
        }
        done += (size_t)r;
    }
    /* What HDF5 wrote after the error, which the file does not hold. */
    for (held *h = f->first; h; h = h->next) {
        haddr_t lo = h->addr > addr ? h->addr : addr;
        haddr_t hi = h->addr + h->size < addr + size ? h->addr + h->size
                                                      : addr + size;
        if (lo < hi)
            memcpy(p + (lo - addr), h->bytes + (lo - h->addr),
                   (size_t)(hi - lo));
    }
    return 0;
}

static herr_t fd_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl,
                       haddr_t addr, size_t size, const void *buf)
{
    (void)dxpl;
    fd_file *f = (fd_file *)file;
    if (addr + size > f->eof)
        f->eof = addr + size;
    if (!f->t->err && dg__tmp_pwrite(f->t, buf, size, (uint64_t)addr) == 0)
        return 0;
    /* Latched: the file is lost; keep HDF5 consistent with itself. */
    if (type == H5FD_MEM_DRAW)
        return 0;
    held *h = malloc(sizeof(*h));
    unsigned char *b = malloc(size ? size : 1);
    if (!h || !b) {
        free(h);
        free(b);
        return -1; /* out of memory: HDF5 reports it */
    }
    memcpy(b, buf, size);
    h->addr = addr;
    h->size = size;
    h->bytes = b;
    h->next = NULL;
    if (f->last)
        f->last->next = h;
    else
        f->first = h;
    f->last = h;
    return 0;
}

static herr_t fd_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    (void)dxpl;
    (void)closing;
    fd_file *f = (fd_file *)file;
    if (f->eoa == f->eof)
        return 0;
    if (!f->t->err && ftruncate(f->t->fd, (off_t)f->eoa) < 0)
        f->t->err = errno ? errno : EIO; /* latched like a write error */
    f->eof = f->eoa;
    return 0;
}

static const H5FD_class_t fd_class = {
#ifdef H5FD_CLASS_VERSION
    .version = H5FD_CLASS_VERSION,
    .value = (H5FD_class_value_t)600,
#endif
    .name = "detgrid-fd",
    .maxaddr = ((haddr_t)1 << 63) - 1,
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(fd_info),
    .fapl_get = fd_fapl_get,
    .fapl_copy = fapl_copy,
    .fapl_free = fapl_free,
    .open = fd_open,
    .close = fd_close,
    .cmp = fd_cmp,
    .query = fd_query,
    .get_eoa = fd_get_eoa,
    .set_eoa = fd_set_eoa,
    .get_eof = fd_get_eof,
    .get_handle = fd_get_handle,
    .read = fd_read,
    .write = fd_write,
    .truncate = fd_truncate,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

static hid_t driver_id(void)
{
    static hid_t id = H5I_INVALID_HID;
    if (id < 0 || H5Iis_valid(id) <= 0)
        id = H5FDregister(&fd_class);
    return id;
}

hid_t dg__h5_fapl_tmp(dg_tmpfile *t)
{
    hid_t drv = driver_id();
    if (drv < 0)
        return H5I_INVALID_HID;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    fd_info info = {t};
    /* Closing the file closes every object in it, so the driver is done
     * with t when H5Fclose returns. */
    if (fapl < 0 || H5Pset_driver(fapl, drv, &info) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

dg_tmpfile *dg__h5_tmpfile_of(hid_t loc)
{
    hid_t drv = driver_id();
    hid_t file = H5Iget_file_id(loc);
    hid_t fapl = file >= 0 ? H5Fget_access_plist(file) : H5I_INVALID_HID;
    dg_tmpfile *t = NULL;
    if (file >= 0)
        H5Fclose(file);
    if (fapl >= 0) {
        if (H5Pget_driver(fapl) == drv) {
            const fd_info *fi = H5Pget_driver_info(fapl);
            t = fi ? fi->t : NULL;
        }
        H5Pclose(fapl);
    }
    return t;
}
