// jemalloc's options, read from this symbol when the allocator starts
// (MALLOC_CONF in the environment still overrides them). By default jemalloc
// purges freed pages only when the arena that holds them allocates again,
// and first with MADV_FREE, which leaves them in the resident size: after a
// flood of calls the server stayed at about 100 MB (from 27 MB) for good.
// Background threads purge pages unused for 2 s, with MADV_DONTNEED, so the
// resident size falls back within seconds of the flood's end.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
const char* malloc_conf =
    "background_thread:true,dirty_decay_ms:2000,muzzy_decay_ms:0";
}
