//! glibc's allocator told to keep freed memory for the next query, in one heap per worker.
//!
//! By default glibc returns the top of a thread's heap to the kernel once more than 128 KiB
//! of it is free, and maps larger blocks afresh. A query's hash tables and batches are freed
//! when it ends, so the next query faulted the same pages in again, zeroed by the kernel: a
//! third of the CPU of a 200K-row GROUP BY (BENCHMARKS.md, change 31). Setting both limits
//! (which also turns off glibc's adaptive threshold) keeps up to `TRIM` free at a heap's top
//! and serves blocks up to `MMAP` from the heaps. The Python `datafusion` package gets the
//! same effect from mimalloc; mimalloc itself did not help here (change 25).
//!
//! Kept memory is kept per heap, and glibc gives threads up to eight heaps per core: tokio's
//! workers and the blocking threads that read files each came to hold their own high-water
//! mark, so the server's memory grew with every heap a large query had touched. Capping the
//! heaps at one per worker thread lets each query reuse what the last one freed
//! (BENCHMARKS.md, change 33).

/// Free memory a heap keeps at its top before returning the rest.
const TRIM: usize = 256 << 20;
/// Blocks from this size up get their own mapping (glibc's largest allowed value).
const MMAP: usize = 32 << 20;

/// Sets the limits; call before the runtime's threads start. A no-op off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before other threads
    // exist, and glibc serialises it with allocation anyway.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM as libc::c_int);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP as libc::c_int);
    }
}

/// Caps glibc's heaps at one per worker thread; call before the runtime's threads start. A
/// limit the user set (`MALLOC_ARENA_MAX`, or `arena_max` in `GLIBC_TUNABLES`) is left alone.
/// A no-op off glibc.
pub fn heaps_per_worker(workers: usize) {
    let user_set = std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("arena_max"));
    if user_set {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as above; glibc reads the limit only when a thread first needs a heap.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, workers.clamp(1, 1024) as libc::c_int);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = workers;
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use std::sync::{Arc, Barrier};

    /// Set in the child process of `threads_share_one_heap_per_worker`.
    const CHILD: &str = "ABACUS_MALLOC_TEST_CHILD";

    /// Minor page faults of the calling thread so far.
    fn faults() -> i64 {
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage writes into the struct it is given.
        assert_eq!(
            unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) },
            0
        );
        usage.ru_minflt
    }

    /// A thread that allocates, touches and frees 24 MiB in 1 MiB blocks, ten times over,
    /// faults the pages in once, not every time (glibc's defaults: ~6,000 faults a round).
    #[test]
    fn freed_memory_is_reused_without_faulting_it_in_again() {
        super::keep_freed_memory();
        let faults_after_first = std::thread::spawn(|| {
            let mut first = 0;
            for round in 0..10 {
                let blocks: Vec<Vec<u8>> = (0..24).map(|i| vec![i as u8 + 1; 1 << 20]).collect();
                assert!(blocks.iter().all(|b| b[4096] != 0));
                drop(blocks);
                if round == 0 {
                    first = faults();
                }
            }
            faults() - first
        })
        .join()
        .unwrap();
        let one_round = (24 << 20) / 4096;
        assert!(
            faults_after_first < one_round,
            "{faults_after_first} faults in nine rounds"
        );
    }

    /// glibc's heaps (arenas) in this process, counted in `malloc_info`'s report.
    fn heaps() -> usize {
        let mut buf: *mut libc::c_char = std::ptr::null_mut();
        let mut len: libc::size_t = 0;
        // SAFETY: open_memstream hands back a stream writing into a buffer it allocates;
        // the buffer is read after fclose and freed with free, as its manual asks.
        unsafe {
            let stream = libc::open_memstream(&mut buf, &mut len);
            assert!(!stream.is_null());
            assert_eq!(libc::malloc_info(0, stream), 0);
            libc::fclose(stream);
            let xml =
                String::from_utf8_lossy(std::slice::from_raw_parts(buf.cast(), len)).into_owned();
            libc::free(buf.cast());
            xml.matches("<heap nr=").count()
        }
    }

    /// Eight threads alive at once share two heaps once the cap is two (glibc's default on two
    /// cores gives each its own: ten heaps). Heaps are never freed, so this runs in a child
    /// process of its own, which holds only libtest's threads when it starts.
    #[test]
    fn threads_share_one_heap_per_worker() {
        if std::env::var_os(CHILD).is_some() {
            super::heaps_per_worker(2);
            let barrier = Arc::new(Barrier::new(8));
            let threads: Vec<_> = (0..8)
                .map(|i| {
                    let barrier = barrier.clone();
                    std::thread::spawn(move || {
                        let block = vec![i as u8; 1 << 16];
                        barrier.wait();
                        block.len()
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            println!("heaps={}", heaps());
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "malloc::tests::threads_share_one_heap_per_worker",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env_remove("MALLOC_ARENA_MAX")
            .env_remove("GLIBC_TUNABLES")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        let heaps: usize = stdout
            .split("heaps=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no heap count in the child's output: {stdout}"));
        assert!(heaps <= 2, "{heaps} heaps for eight threads");
    }
}
