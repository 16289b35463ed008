// Clang thread-safety annotations (no-ops on other compilers) and an annotated mutex.
#pragma once

#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define PERMCACHE_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define PERMCACHE_THREAD_ANNOTATION_(x)
#endif

#define PERMCACHE_GUARDED_BY(x) PERMCACHE_THREAD_ANNOTATION_(guarded_by(x))
#define PERMCACHE_PT_GUARDED_BY(x) PERMCACHE_THREAD_ANNOTATION_(pt_guarded_by(x))
#define PERMCACHE_REQUIRES(...) PERMCACHE_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define PERMCACHE_EXCLUDES(...) PERMCACHE_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
