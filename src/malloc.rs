//! glibc's allocator told to keep freed memory for the next query instead of handing it back.
//!
//! By default glibc returns the top of a thread's heap to the kernel once more than 128 KiB
//! of it is free, and maps larger blocks afresh. A query's hash tables and batches are freed
//! when it ends, so the next query faulted the same pages in again, zeroed by the kernel: a
//! third of the CPU of a 200K-row GROUP BY (BENCHMARKS.md, change 31). Setting both limits
//! (which also turns off glibc's adaptive threshold) keeps up to `TRIM` free at a heap's top
//! and serves blocks up to `MMAP` from the heaps. The Python `datafusion` package gets the
//! same effect from mimalloc; mimalloc itself did not help here (change 25).

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

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
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
}
